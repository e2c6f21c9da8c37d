"""The seed's cast and props: names, companies, products, what people say and give, and how often things happen.

Plain data: the generator draws from it with its one random source.
"""

from __future__ import annotations

from domain.values import Channel, GiftCategory, Industry, StaffRole, Tier

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas", "Mia", "Mateo",
    "Amelia", "Benjamin", "Harper", "Daniel", "Evelyn", "Henry", "Abigail", "Samuel", "Priya", "Arjun", "Mei",
    "Hiroshi", "Fatima", "Omar", "Chloe", "Gabriel", "Zoe", "Nathan", "Hannah", "Ethan", "Grace", "David", "Leah",
    "Marcus", "Nadia", "Tomas", "Ingrid", "Kwame", "Amara", "Diego", "Lucia", "Rafael", "Elena", "Viktor", "Anya",
    "Sean", "Aisha", "Jonah", "Rachel", "Carlos", "Yuki", "Ibrahim", "Sofia", "Patrick", "Claire", "Ravi", "Naomi",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson",
    "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Nguyen",
    "Hill", "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Patel", "Kim", "Chen", "Okafor", "Novak",
    "Kowalski", "Schmidt", "Rossi", "Dubois", "Larsen", "Silva", "Haddad", "Cohen", "Murphy", "O'Brien", "Fischer",
    "Tanaka", "Singh", "Ivanova", "Moreau", "Bianchi", "Sato", "Reyes", "Brennan", "Whitfield", "Ashworth",
)  # fmt: skip
STEMS = (
    "Northwind", "Blue Harbor", "Granite Peak", "Silverline", "Redwood", "Summit Ridge", "Brightwater", "Ironbridge",
    "Meridian", "Clearview", "Oakhurst", "Lakeshore", "Crescent", "Harborview", "Pinecrest", "Stonegate", "Westfield",
    "Evergreen", "Highland", "Riverbend", "Atlas", "Beacon", "Cobalt", "Falcon", "Keystone", "Lighthouse", "Maple Leaf",
    "Orion", "Pioneer", "Quarry Hill", "Sterling", "Tidewater", "Vanguard", "Willow Creek", "Aurora", "Bluestone",
    "Cedar Point", "Driftwood", "Eastgate", "Foxglove", "Goldcrest", "Hawthorne", "Juniper", "Kingsbridge", "Larkspur",
    "Millbrook", "Newhaven", "Old Mill", "Parkside", "Rosewood", "Seabright", "Thornbury", "Upland", "Windermere",
)  # fmt: skip
SUFFIXES: dict[Industry, tuple[str, ...]] = {
    Industry.ADVERTISING: ("Advertising", "Media Group", "Creative", "Brand Partners", "Agency"),
    Industry.PUBLIC_RELATIONS: ("Communications", "Public Relations", "PR", "Strategies", "Reputation Partners"),
    Industry.FINANCIAL_SERVICES: ("Capital", "Asset Management", "Securities", "Bancorp", "Wealth Partners"),
    Industry.TECHNOLOGY: ("Systems", "Software", "Technologies", "Labs", "Networks"),
    Industry.OTHER: ("Foods", "Health Group", "Logistics", "Hospitality", "Pharmaceuticals"),
}
PRODUCTS: dict[Industry, tuple[str, ...]] = {
    Industry.ADVERTISING: (
        "Programmatic Display", "Connected TV Campaigns", "Creative Studio Retainer", "Audience Analytics",
        "Retail Media Network", "Brand Safety Monitoring",
    ),
    Industry.PUBLIC_RELATIONS: (
        "Media Monitoring", "Crisis Communications Retainer", "Executive Visibility Program", "Social Listening",
        "Press Release Distribution",
    ),
    Industry.FINANCIAL_SERVICES: (
        "Prime Brokerage", "Treasury Management", "FX Hedging Desk", "Securities Lending", "Custody Services",
        "Private Wealth Portfolio", "Cash Sweep Program",
    ),
    Industry.TECHNOLOGY: (
        "Managed Security Operations", "Endpoint Protection Suite", "Cloud Backup", "Hardware Support Plan",
        "Zero Trust Network Access", "Data Platform Migration",
    ),
    Industry.OTHER: (
        "Supply Chain Analytics", "Pharmacy Inventory Platform", "Fleet Telematics", "Procurement Portal",
        "Facilities Support Plan",
    ),
}  # fmt: skip
INDIVIDUAL_PRODUCTS = ("Private Wealth Portfolio", "Estate Planning Review", "Retirement Income Plan", "Trust Services")
CITIES: tuple[tuple[str, str, float], ...] = (
    ("New York", "America/New_York", 30),
    ("Boston", "America/New_York", 8),
    ("Chicago", "America/Chicago", 12),
    ("Austin", "America/Chicago", 6),
    ("Denver", "America/Denver", 5),
    ("San Francisco", "America/Los_Angeles", 12),
    ("Seattle", "America/Los_Angeles", 6),
    ("Toronto", "America/Toronto", 5),
    ("London", "Europe/London", 9),
    ("Frankfurt", "Europe/Berlin", 4),
    ("Singapore", "Asia/Singapore", 3),
)
FIRM_TIME_ZONE = "America/New_York"
FIRM_DOMAIN = "ledgerfirm.example"
INDUSTRY_WEIGHTS = {
    Industry.ADVERTISING: 22,
    Industry.PUBLIC_RELATIONS: 14,
    Industry.FINANCIAL_SERVICES: 28,
    Industry.TECHNOLOGY: 24,
    Industry.OTHER: 12,
}
TIER_WEIGHTS = {Tier.KEY: 8, Tier.MAJOR: 25, Tier.STANDARD: 67}
CONTRACT_VALUES = {Tier.KEY: (150_000, 1_500_000), Tier.MAJOR: (40_000, 300_000), Tier.STANDARD: (5_000, 60_000)}
PRIVATE_EMPLOYERS = (
    "Self-employed", "Mercy Hospital Group", "City of Springfield", "Lakeside School District", "Harlow & Finch LLP",
    "Retired", "St. Jude Medical Practice", "Grant Dental Partners",
)  # fmt: skip
CONTACT_SUMMARIES: dict[Channel, tuple[str, ...]] = {
    Channel.CALL: (
        "Checked in on renewal timing", "Walked through the latest invoice", "Discussed budget for next quarter",
        "Followed up on open support tickets", "Answered questions about pricing tiers",
    ),
    Channel.EMAIL: (
        "Sent the quarterly performance report", "Shared the revised statement of work",
        "Confirmed the agenda for the next review", "Sent case studies from the same industry",
    ),
    Channel.MEETING: (
        "Quarterly business review with the leadership team", "Planning session for next year's programme",
        "Reviewed service levels and escalations", "Introduced the new support lead",
    ),
    Channel.VISIT: (
        "On-site visit to the client's headquarters", "Toured the operations floor with the COO",
        "Attended the client's internal kickoff",
    ),
    Channel.OTHER: ("Met at an industry conference", "Spoke briefly at a charity event"),
}  # fmt: skip
CHANNEL_WEIGHTS = {Channel.CALL: 36, Channel.EMAIL: 34, Channel.MEETING: 18, Channel.VISIT: 8, Channel.OTHER: 4}
DEMO_OUTCOMES_POSITIVE = (
    "Strong interest; client asked for a proposal", "Pilot agreed with the technical team",
    "Design direction approved; pricing requested",
)  # fmt: skip
DEMO_OUTCOMES_OTHER = (
    "Needs a security review before going further", "Lukewarm; revisit next quarter",
    "Budget frozen until the new fiscal year", "Went well, but a competitor is preferred",
)  # fmt: skip
DEMO_CANCEL_REASONS = (
    "Client postponed indefinitely",
    "Key stakeholder left the company",
    "Client chose to evaluate internally",
)
STAFF: tuple[tuple[str, StaffRole], ...] = (
    ("Maya Fernandez", StaffRole.TECHNICAL), ("Kenji Watanabe", StaffRole.TECHNICAL),
    ("Oskar Lindqvist", StaffRole.TECHNICAL), ("Bola Adeyemi", StaffRole.TECHNICAL),
    ("Tara Quinn", StaffRole.TECHNICAL), ("Lena Hoffmann", StaffRole.DESIGN), ("Julien Marchand", StaffRole.DESIGN),
    ("Sana Qureshi", StaffRole.DESIGN), ("Ruth Okonkwo", StaffRole.SUPPORT), ("Miguel Santos", StaffRole.SUPPORT),
    ("Dana Whitaker", StaffRole.SUPPORT), ("Felix Brandt", StaffRole.OTHER),
)  # fmt: skip
CLOSE_REASONS = (
    "Client moved the work in-house",
    "Client was acquired; the parent has its own provider",
    "Contract not renewed after budget cuts",
    "Client went with a competitor after an RFP",
)
REOPEN_REASONS = ("Client returned after a new RFP", "New leadership at the client asked to restart", "Won back")
REASSIGN_REASONS = ("Territory rebalancing", "Industry specialisation", "Workload rebalancing", "Client request")
TERMINATE_REASONS = ("Client exercised the termination for convenience clause", "Merged into a larger agreement")
ENTERTAINMENT = (
    ("Client dinner", 180, 900), ("Lunch after the quarterly review", 60, 320), ("Box seats at a ballgame", 400, 1600),
    ("Theatre evening", 250, 1200), ("Golf outing", 300, 1400),
)  # fmt: skip

ACTIONS = ("contact", "introduce", "demo", "propose", "gift", "entertainment", "correct")
ACTION_WEIGHTS = (430, 110, 70, 35, 70, 25, 12)
"""How the day-to-day work on a relationship is shared out (the more events planned, the busier the days)."""
STANDING_RATES = {"close": 0.05, "reassign": 0.12, "tier": 0.10, "cadence": 0.15}
"""How often a relationship's standing changes, per relationship and year, however busy the days are."""
REOPENED_SHARE = 0.5
TERMINATED_SHARE = 0.06
SIGNED_VALUE_PER_EVENT = 8_500
"""About how much contract value (USD) each event of activity ends up signing (measured), to size quotas."""


RETAIL_GIFTS = ("Holiday hamper", "Birthday flowers", "Book on estate planning")
"""What a retail customer (an individual client) is given: a token of thanks."""
CORPORATE_GIFT_WEIGHTS = {
    GiftCategory.GENERAL: 52,
    GiftCategory.TICKET: 12,
    GiftCategory.PROMOTIONAL: 13,
    GiftCategory.DE_MINIMIS: 7,
    GiftCategory.COMMEMORATIVE: 6,
    GiftCategory.PERSONAL: 5,
    GiftCategory.BEREAVEMENT: 2,
    GiftCategory.DISASTER_DONATION: 3,
}
CORPORATE_GIFTS: dict[GiftCategory, tuple[tuple[str, int, int], ...]] = {
    GiftCategory.GENERAL: (
        ("Bottle of wine", 2_500, 9_000),
        ("Gourmet gift basket", 4_000, 14_000),
        ("Restaurant gift card", 2_500, 10_000),
        ("Leather notebook", 3_000, 8_000),
    ),
    GiftCategory.TICKET: (
        ("Two tickets to a basketball game (representative not attending)", 6_000, 24_000),
        ("Concert tickets (representative not attending)", 5_000, 18_000),
    ),
    GiftCategory.PROMOTIONAL: (("Branded fleece jacket", 2_500, 6_000), ("Logo umbrella", 1_200, 3_000)),
    GiftCategory.DE_MINIMIS: (("Box of chocolates", 800, 2_000), ("Coffee and pastries", 1_000, 3_000)),
    GiftCategory.COMMEMORATIVE: (("Lucite deal tombstone", 6_000, 15_000),),
    GiftCategory.PERSONAL: (("Wedding gift, paid personally", 5_000, 20_000), ("Baby gift", 4_000, 9_000)),
    GiftCategory.BEREAVEMENT: (("Condolence flowers", 6_000, 15_000),),
    GiftCategory.DISASTER_DONATION: (("Donation to hurricane relief on their behalf", 10_000, 50_000),),
}
"""Per category, what a person at a corporate client may be given and its cost range in cents."""
SHARED_GIFT_SHARE = 0.15
"""How often a general gift is shared by several people on one team (each named)."""
