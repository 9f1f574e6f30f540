// Short texts the integration tests run the real model on.

/** An email with a greeting, two paragraphs of requests and a sign-off. */
export const SHORT_EMAIL = [
    "Hi Maria,",
    "Thanks for sending the draft agenda. I think we should move the budget review to the morning, because Tom can only join after lunch.",
    "Could you also book the small meeting room for Thursday? The big one is taken.",
    "Best regards,\nPeter",
].join("\n\n");

/** A news paragraph of three sentences (written for the tests). */
export const NEWS_PARAGRAPH = [
    "The city council voted on Tuesday to close the Old Mill bridge for repairs that will last at least six months.",
    "Drivers will have to use the ring road instead, adding up to twenty minutes to a trip into the centre, the mayor's office said.",
    "Shop owners near the bridge warned that they could lose a third of their customers while it is closed.",
].join(" ");
