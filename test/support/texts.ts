// Short texts the integration tests run the real model on.

/** An email with a greeting, two paragraphs of requests and a sign-off. */
export const SHORT_EMAIL = [
    "Hi Maria,",
    "Thanks for sending the draft agenda. I think we should move the budget review to the morning, because Tom can only join after lunch.",
    "Could you also book the small meeting room for Thursday? The big one is taken.",
    "Best regards,\nPeter",
].join("\n\n");
