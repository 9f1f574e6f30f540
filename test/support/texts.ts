// Texts the integration tests run the real model on.

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

/**
 * `count` action items, a line each, every one a different person, task, city or date: the
 * summarizer copies them one after another, so ~1,200 tokens of them fill its 128-token budget.
 */
export function actionItems(count: number): string {
    const people = ["Anna", "Bilal", "Chen", "Dolores", "Emeka", "Farah", "Goran", "Hiro", "Ines", "Jonas", "Kavya"];
    const tasks = [
        "book the venue for the spring conference",
        "renew the insurance of the delivery vans",
        "interview three candidates for the support team",
        "fix the broken heating in the second-floor office",
        "send the signed contract back to the printing company",
        "plan the budget for next year's training courses",
        "order new laptops for the design department",
        "call the landlord about the leaking roof",
        "translate the safety manual into Portuguese",
        "collect feedback from the pilot customers in Ohio",
        "prepare the slides for the board meeting",
        "clean up the shared drive before the audit",
    ];
    const cities = ["Lisbon", "Nairobi", "Osaka", "Quito", "Tallinn", "Perth", "Lyon", "Accra", "Busan", "Krakow"];
    const months = ["March", "April", "May", "June", "July", "August", "September"];
    return Array.from(
        {length: count},
        (_, i) =>
            `${people[i % 11]} will ${tasks[(i * 5) % 12]} in ${cities[(i * 7) % 10]} by ${months[i % 7]} ${((i * 3) % 27) + 1}.`,
    ).join("\n");
}
