"""Phrase banks and templates for the demo community (a UK mobile network's peer-support forum).

Everything here is fiction. Phone numbers come from Ofcom's drama ranges (07700 900000-900999,
01632 960000-960999), emails are at example.com / example.org, web addresses at .example, and
"Kestrel Mobile" is not a real network. Templates are `str.format` strings over the slot names
that `console.demo` fills for each thread (see `SLOT_NAMES`); a template may use any of them.
"""

from __future__ import annotations

from dataclasses import dataclass

NETWORK = "Kestrel Mobile"
NETWORK_SHORT = "Kestrel"
BASE_URL = "https://community.kestrel-mobile.example"

# Slots every thread has (console.demo fills all of them; templates pick what they need).
SLOT_NAMES = frozenset(
    (
        "network",
        "device",
        "other",
        "country",
        "town",
        "area",
        "postcode",
        "inward",
        "error",
        "plan",
        "amount",
        "amount2",
        "pac",
        "since",
        "since_short",
        "when",
        "days",
        "gb",
        "pct",
        "topup",
        "case",
        "order",
        "years",
        "bought",
        "month",
        "imei",
        "topic",
        "asker",
        "full_name",
        "phone",
        "phone2",
        "landline",
        "email",
        "house",
        "street",
        "solicitor",
        "staff",
        "helper",
    )
)

FIRST_NAMES = (
    "Aisha",
    "Alfie",
    "Amelia",
    "Amir",
    "Ava",
    "Ben",
    "Bethan",
    "Callum",
    "Chloe",
    "Connor",
    "Dan",
    "Darren",
    "Dave",
    "Deepa",
    "Eilidh",
    "Ella",
    "Emma",
    "Ewan",
    "Fatima",
    "Finn",
    "Freya",
    "Gareth",
    "Georgia",
    "Grace",
    "Hamza",
    "Hannah",
    "Harry",
    "Imran",
    "Isla",
    "Jack",
    "Jade",
    "Jamal",
    "James",
    "Jas",
    "Jess",
    "Jo",
    "Kate",
    "Kieran",
    "Lauren",
    "Leah",
    "Liam",
    "Lily",
    "Lewis",
    "Maisie",
    "Marek",
    "Mark",
    "Megan",
    "Mo",
    "Nadia",
    "Niamh",
    "Noah",
    "Oliver",
    "Olu",
    "Paul",
    "Priya",
    "Rhys",
    "Rob",
    "Rosie",
    "Ruth",
    "Ryan",
    "Sam",
    "Sarah",
    "Sean",
    "Shona",
    "Siobhan",
    "Sophie",
    "Steve",
    "Tariq",
    "Tom",
    "Tomasz",
    "Una",
    "Yusuf",
    "Zara",
    "Zoe",
    "Bernie",
    "Colin",
    "Margaret",
    "Sandra",
    "Trevor",
    "Wendy",
)
SURNAMES = (
    "Ahmed",
    "Allen",
    "Bailey",
    "Begum",
    "Bell",
    "Brown",
    "Campbell",
    "Clarke",
    "Cooper",
    "Davies",
    "Edwards",
    "Evans",
    "Fraser",
    "Green",
    "Griffiths",
    "Hall",
    "Harris",
    "Hughes",
    "Hussain",
    "Jackson",
    "James",
    "Jones",
    "Kaur",
    "Kelly",
    "Khan",
    "King",
    "Kowalski",
    "Lewis",
    "MacDonald",
    "Martin",
    "Mitchell",
    "Morgan",
    "Murphy",
    "Murray",
    "Nowak",
    "O'Brien",
    "Okafor",
    "Owen",
    "Patel",
    "Phillips",
    "Price",
    "Reid",
    "Roberts",
    "Robinson",
    "Scott",
    "Shah",
    "Singh",
    "Smith",
    "Stewart",
    "Taylor",
    "Thomas",
    "Thompson",
    "Walker",
    "Watson",
    "White",
    "Williams",
    "Wilson",
    "Wood",
    "Wright",
    "Young",
)
HANDLE_WORDS = (
    "badger",
    "biscuit",
    "brew",
    "cloud",
    "cobble",
    "daffodil",
    "ember",
    "fell",
    "fox",
    "gadget",
    "geek",
    "heron",
    "kipper",
    "lark",
    "moor",
    "otter",
    "pixel",
    "puffin",
    "quill",
    "raven",
    "robin",
    "signal",
    "sparrow",
    "techie",
    "thistle",
    "toast",
    "wren",
    "yeti",
    "northern",
    "brummie",
    "scouse",
    "geordie",
    "valleys",
    "highland",
    "london",
    "kent",
)

DEVICES = (
    "iPhone 15",
    "iPhone 15 Pro",
    "iPhone 14",
    "iPhone 13 mini",
    "iPhone 12",
    "iPhone SE (2022)",
    "iPhone 11",
    "Samsung Galaxy S24",
    "Galaxy S23 FE",
    "Galaxy A54",
    "Galaxy A15",
    "Galaxy Z Flip5",
    "Galaxy S21",
    "Pixel 8",
    "Pixel 8 Pro",
    "Pixel 7a",
    "Pixel 6",
    "Motorola Moto G84",
    "Moto G54",
    "OnePlus 12",
    "OnePlus Nord 3",
    "Xiaomi Redmi Note 13",
    "Xiaomi 13T",
    "Nokia G42",
    "Nokia 105 (the old brick)",
    "Sony Xperia 10 V",
    "Oppo A79",
    "Honor Magic6 Lite",
    "Fairphone 5",
    "Doro 8100",
    "CAT S62",
    "Nothing Phone (2)",
)
OTHER_NETWORKS = (
    "EE",
    "Vodafone",
    "O2",
    "Three",
    "Tesco Mobile",
    "Sky Mobile",
    "Lebara",
    "Lyca Mobile",
    "Voxi",
    "iD Mobile",
    "Smarty",
    "BT Mobile",
    "Asda Mobile",
    "Virgin Mobile",
    "SMARTY",
)
# (country, in the "roam like at home" zone?)
COUNTRIES = (
    ("Spain", True),
    ("France", True),
    ("Portugal", True),
    ("Greece", True),
    ("Italy", True),
    ("Ireland", True),
    ("Germany", True),
    ("the Netherlands", True),
    ("Poland", True),
    ("Croatia", True),
    ("Cyprus", True),
    ("Malta", True),
    ("Tenerife", True),
    ("Turkey", False),
    ("the USA", False),
    ("Canada", False),
    ("Dubai", False),
    ("Thailand", False),
    ("Switzerland", False),
    ("Norway", True),
    ("Iceland", True),
    ("Morocco", False),
    ("Egypt", False),
    ("Japan", False),
    ("Australia", False),
    ("the Isle of Man", True),
    ("Jersey", True),
    ("Guernsey", True),
    ("Mexico", False),
    ("India", False),
    ("Pakistan", False),
    ("Nigeria", False),
    ("Jamaica", False),
)
POSTCODE_AREAS = (
    ("M", "Manchester"),
    ("LS", "Leeds"),
    ("B", "Birmingham"),
    ("G", "Glasgow"),
    ("EH", "Edinburgh"),
    ("CF", "Cardiff"),
    ("BS", "Bristol"),
    ("NE", "Newcastle"),
    ("L", "Liverpool"),
    ("S", "Sheffield"),
    ("NG", "Nottingham"),
    ("LE", "Leicester"),
    ("BT", "Belfast"),
    ("PL", "Plymouth"),
    ("NR", "Norwich"),
    ("AB", "Aberdeen"),
    ("SW", "south-west London"),
    ("E", "east London"),
    ("N", "north London"),
    ("SE", "south-east London"),
    ("CB", "Cambridge"),
    ("OX", "Oxford"),
    ("SO", "Southampton"),
    ("BN", "Brighton"),
    ("YO", "York"),
    ("IV", "Inverness"),
    ("TR", "Truro"),
    ("LL", "Llandudno"),
    ("DD", "Dundee"),
    ("HU", "Hull"),
    ("ST", "Stoke"),
    ("SA", "Swansea"),
    ("EX", "Exeter"),
    ("CV", "Coventry"),
    ("DE", "Derby"),
    ("PR", "Preston"),
    ("BD", "Bradford"),
    ("MK", "Milton Keynes"),
    ("RG", "Reading"),
    ("KY", "Kirkcaldy"),
    ("LD", "Llandrindod Wells"),
)
SIM_ERRORS = (
    "SIM not provisioned MM#2",
    "No SIM",
    "Emergency calls only",
    "Invalid SIM",
    "SIM not supported",
    "Not registered on network",
    "PIN blocked",
    "No service",
    "SIM card failure",
    "Mobile network not available",
    "Call failed",
    "SOS only",
)
PLANS = (
    "Flex 12GB",
    "Flex 35GB",
    "Flex 100GB",
    "Unlimited",
    "Unlimited Plus",
    "Data Saver 4GB",
    "Pay as you go",
    "Kestrel Basics £6",
    "Always On 60GB",
    "Family 4 x 20GB",
    "SIM-only 24GB",
)
MONTHS = ("August", "September", "October", "November")
SINCE = (
    "since Tuesday",
    "since about 7pm yesterday",
    "for three days now",
    "since the weekend",
    "since Monday morning",
    "since the update last night",
    "for nearly a week",
    "since about 4am",
    "since Friday lunchtime",
    "on and off for a fortnight",
)
SINCE_SHORT = (
    "Tuesday",
    "yesterday",
    "3 days",
    "the weekend",
    "Monday",
    "this morning",
    "last night",
    "a week",
    "Friday",
    "2 weeks",
)
WHEN = (
    "last Tuesday",
    "on Monday",
    "a week ago",
    "yesterday morning",
    "three days ago",
    "at the weekend",
    "on Friday",
    "last month",
    "ten days ago",
    "on the 3rd",
)
BOUGHT = (
    "from Argos last month",
    "second-hand off eBay",
    "refurbished from Back Market",
    "from Currys on Black Friday",
    "from a mate",
    "from the Apple Store",
    "off Facebook Marketplace",
    "from Amazon",
    "new in the box from CEX",
    "as a gift",
)


@dataclass(frozen=True)
class Topic:
    key: str
    tags: tuple[str, ...]
    weight: int
    titles: tuple[str, ...]
    details: tuple[str, ...]
    tried: tuple[str, ...]
    asks: tuple[str, ...]
    steps: tuple[str, ...]
    wrong: tuple[str, ...]
    staff: tuple[str, ...]


GREETINGS = (
    "",
    "",
    "",
    "Hi all,",
    "Hi everyone,",
    "Hello,",
    "Hiya,",
    "Morning all,",
    "Evening,",
    "Hi, first time posting here.",
    "Right,",
)
SIGNOFFS = (
    "",
    "",
    "",
    "Thanks in advance.",
    "Cheers.",
    "Any help appreciated!",
    "Ta.",
    "Thanks,\n{asker}",
    "Many thanks",
    "Cheers all",
    "Help!!",
    "Thanks in advance, going mad here.",
)
TITLE_PREFIXES = ("", "", "", "", "", "", "URGENT: ", "Help - ", "Please help: ", "[Help] ")
TITLE_SUFFIXES = (
    "",
    "",
    "",
    "",
    "",
    "",
    "?",
    "??",
    " - help please",
    " (again)",
    "!!!",
    " - any ideas?",
)

TOPICS: tuple[Topic, ...] = (
    Topic(
        key="sim_activation",
        tags=("sim", "activation"),
        weight=12,
        titles=(
            "New SIM not activating",
            "SIM says '{error}' after activation",
            "Activated SIM {days} days ago, still no signal on my {device}",
            "New {network} SIM stuck on '{error}'",
            "sim not working after top up",
            "How long does SIM activation take?",
            "Replacement SIM not working - {error}",
            "{device} won't recognise new SIM",
            "Activation email never came",
            "Activated online but phone still shows {error}",
        ),
        details=(
            "I ordered the SIM {when} and activated it on the website with a £{topup} top-up.",
            "The phone just shows '{error}' in the status bar and no bars at all.",
            "It's going in my {device} which I bought {bought}.",
            "The order number is {order} and the website says the SIM is 'Active'.",
            "My old SIM from {other} still works in the same phone, so it isn't the handset.",
            "It's a replacement SIM because my old one got damaged, same number.",
            "The app says activation is 'in progress' and it's been like that {since}.",
            "I put the £{topup} on with a voucher from the corner shop and it shows as credit "
            "but nothing else works.",
        ),
        tried=(
            "I've restarted the phone loads of times and taken the SIM in and out.",
            "Tried it in my partner's phone too - same '{error}' message.",
            "I've reset network settings and turned airplane mode on and off.",
            "I rang 333 but it just says to wait 24 hours, and it's been longer than that.",
            "Checked the APN settings and they look right.",
            "I haven't tried anything yet, I'm not very techy.",
        ),
        asks=(
            "How long is it supposed to take?",
            "Is there something I'm missing?",
            "Does anyone know how to get it actually working?",
            "Do I need to order a new SIM?",
            "Is the activation system down at the moment?",
        ),
        steps=(
            "Take the SIM out, check it's the right way round and not sitting loose in the tray.",
            "Go into Settings > Mobile network and make sure 'Mobile data' and "
            "'Roaming' are off for now - roaming being on confuses a brand-new SIM.",
            "Restart the phone with the SIM in and leave it switched on for ten minutes.",
            "Dial *#06# and check the phone shows an IMEI - if it doesn't, it's the phone.",
            "Log in to My {network} and check the SIM number on the account matches the "
            "number printed on the card.",
            "Manually pick the network: Settings > Network operator > turn off automatic, "
            "pick {network} (it shows as 'KESTREL' or '234 99').",
            "If it still says '{error}', ring 333 (free) and ask them to re-send the "
            "provisioning - it takes about 15 minutes after that.",
            "Once it's working, turn automatic network selection back on.",
        ),
        wrong=(
            "You have to wait 7 days for activation, it's normal, there's nothing anyone "
            "can do until then.",
            "Cut the SIM down with scissors to nano size - the new ones are too thick for the "
            "{device}.",
            "{network} SIMs don't work in the {device}, you'll need a different phone.",
            "Just factory reset the phone, that always fixes SIM problems.",
        ),
        staff=(
            "I can see the SIM linked to your account wasn't fully provisioned. I've re-sent "
            "it from our side, so please restart your phone in about 15 minutes.",
            "There was a delay with activations on our side {when}, which is now fixed. "
            "Restart the phone and it should connect.",
        ),
    ),
    Topic(
        key="porting",
        tags=("porting", "pac-code"),
        weight=12,
        titles=(
            "PAC code not working",
            "Port from {other} stuck - {days} days and still on temporary number",
            "Number transfer failed, PAC rejected",
            "Lost my number when porting from {other}??",
            "Porting date passed and nothing happened",
            "Can I port a number that's still on contract with {other}?",
            "How do I get a STAC to leave?",
            "Texts going to my old SIM after the port",
            "PAC code says 'invalid' on the website",
            "Number not transferred from {other}",
        ),
        details=(
            "I texted PAC to 65075 and got {pac} back from {other} straight away.",
            "I entered the PAC on the website {when} and it said the switch would happen the "
            "next working day.",
            "The number I'm bringing over is {phone}, the temporary {network} number is {phone2}.",
            "Calls are coming in to the new SIM but texts are still going to my old {other} one.",
            "The website says 'port request rejected' with no reason.",
            "I've been with {other} for {years} years so I really don't want to lose the number.",
            "The PAC expires in a couple of days and I'm worried it'll run out.",
            "My {other} contract ended in {month} so there shouldn't be anything outstanding.",
        ),
        tried=(
            "I've double-checked the PAC and typed it in carefully - capital letters and all.",
            "{other} say it's {network}'s problem, {network} say it's {other}'s.",
            "I've restarted the phone several times as the email said.",
            "I asked for a new PAC and entered that too, same thing.",
            "Live chat said to wait another 24 hours. That was three days ago.",
        ),
        asks=(
            "Has anyone had this and got their number back?",
            "How long does a port normally take?",
            "Who do I actually need to talk to?",
            "Is my number lost for good?",
            "Should I ask for another PAC?",
        ),
        steps=(
            "Check the PAC is still valid - they last 30 days from when {other} issued it.",
            "Make sure the PAC and the number you entered are for the same line (it's easy to "
            "mix up a temporary number with the one you're bringing).",
            "Ports complete on the next working day after you submit, usually before 11am, "
            "so weekends and bank holidays push it back.",
            "Keep your old SIM in until the new one shows your old number - texts can take a "
            "few hours longer than calls.",
            "Restart the new phone twice after the port: once to drop the old registration, "
            "once to pick up the new one.",
            "If it says rejected, ask {other} to confirm the account holder's name and "
            "postcode on the number - a mismatch is the usual reason.",
            "If it's past the date, ring 333 and ask them to raise a 'failed port' with the "
            "porting team; they can see which side it's stuck on.",
        ),
        wrong=(
            "You can't port a number from {other} to {network}, they're not compatible networks.",
            "Once the PAC's been used once it's gone, you'll have to take a new number.",
            "Porting takes 30 working days by law, just be patient.",
            "Just text STOP to 65075 and it'll cancel everything and start again.",
        ),
        staff=(
            "I've checked with our porting team: the request was rejected by {other} because "
            "the postcode didn't match. I've resubmitted it and it should complete tomorrow "
            "morning.",
            "Your port is complete on our side; the texts going to the old SIM should stop "
            "within 24 hours. If not, reply here and I'll chase it.",
        ),
    ),
    Topic(
        key="roaming",
        tags=("roaming", "travel"),
        weight=10,
        titles=(
            "No data in {country}",
            "Roaming charges in {country} - is it included?",
            "Charged £{amount} for roaming in {country}??",
            "Phone won't connect to any network in {country}",
            "Does my {plan} plan cover {country}?",
            "Data roaming on but nothing works ({country}, {device})",
            "Calls work but no internet in {country}",
            "Going to {country} next week - what do I need to do?",
            "Roaming bolt-on not working",
        ),
        details=(
            "I'm in {country} at the moment with my {device}.",
            "Data roaming is switched on and it connects to a local network but pages just "
            "won't load.",
            "I got a text welcoming me to {country} but then nothing.",
            "My bill shows £{amount} for roaming, which I thought was included in {plan}.",
            "We're off to {country} for a fortnight in {month} with the kids.",
            "I only used Google Maps and WhatsApp, nothing heavy.",
            "I bought the £{topup} roaming bolt-on before I left.",
        ),
        tried=(
            "I've turned roaming off and on and restarted.",
            "I tried picking a different network manually but none of them connect.",
            "Wi-Fi works fine at the hotel so the phone itself is OK.",
            "Tried ringing the international number but it costs a fortune and I gave up "
            "after 20 minutes on hold.",
            "Checked the APN like someone said on another thread, no difference.",
        ),
        asks=(
            "Is {country} included or not?",
            "How do I get a refund for the roaming charges?",
            "Is there something I need to switch on?",
            "Will I be charged if I use data?",
            "Does anyone know which local network works best with {network}?",
        ),
        steps=(
            "Check whether {country} is in the roaming zone in My {network} > Plan > Roaming - "
            "EU countries plus a few others are included, most of the rest need a bolt-on.",
            "Make sure 'Data roaming' is on in Settings > Mobile network (it's a separate "
            "switch from mobile data).",
            "Set the APN to 'kestrel.example' with no username or password.",
            "Select a partner network manually - the roaming page lists which ones we use in "
            "{country}.",
            "Turn off 5G / set the network mode to 4G/3G automatic; 5G roaming isn't "
            "supported everywhere yet.",
            "Restart the phone after changing networks.",
            "For charges you didn't expect, ask for a review of the bill through chat - they "
            "can usually refund if the spending cap should have stopped it.",
        ),
        wrong=(
            "Roaming in {country} is free on every UK network, they can't charge you.",
            "Since Brexit nothing works in Europe, you'll need a local SIM.",
            "Turn data roaming OFF and then data will work, it's a known bug.",
            "{network} doesn't have any roaming at all, never has.",
        ),
        staff=(
            "{country} is outside our roaming zone, so data there needs the World bolt-on. "
            "As a one-off goodwill gesture I've credited £{amount} back to your account.",
            "We had a problem with one of our partner networks in {country} which has now "
            "been fixed. Please restart your phone and select a network manually.",
        ),
    ),
    Topic(
        key="billing",
        tags=("billing", "refund"),
        weight=14,
        titles=(
            "Charged twice this month",
            "Bill is £{amount} but my plan is {plan}",
            "Direct debit taken early",
            "Refund for £{amount} never arrived",
            "Unexpected charge of £{amount} on my account",
            "Premium rate charges I didn't make",
            "Why was I charged £{amount} for calls?",
            "Cancelled but still being billed",
            "Overcharged AGAIN - £{amount}",
            "Bill went up {pct}% with no warning",
        ),
        details=(
            "My plan is {plan} and it's always been £{amount2} a month.",
            "This month's bill is £{amount} and there's a line for 'additional services' I "
            "never signed up for.",
            "The direct debit came out twice on the {month} bill, both for £{amount2}.",
            "I was promised a refund of £{amount} on live chat {when} (case {case}).",
            "There are charges for texts to a short code I've never heard of.",
            "I cancelled in {month} and have the confirmation email, but they've taken "
            "another payment.",
            "The bill shows calls to 0800 numbers which are meant to be free.",
        ),
        tried=(
            "I've been on live chat three times and each time they say it'll be sorted.",
            "I rang and was told a manager would call me back. Nobody did.",
            "I've checked the itemised bill and I didn't make those calls.",
            "My bank says I have to sort it with {network} first.",
            "I've asked for a complaint reference, still waiting.",
        ),
        asks=(
            "How do I get my money back?",
            "Has anyone else been charged for this?",
            "Who do I complain to?",
            "Is this even legal?",
            "Can I cancel the direct debit?",
        ),
        steps=(
            "Download the itemised bill from My {network} > Bills and find the exact lines "
            "you're disputing.",
            "Check 'Charge to Bill' / premium services under Settings in the app - that's "
            "where third-party subscriptions hide. Block them while you're there.",
            "Raise it through the app's 'Query a bill' form rather than chat: it creates a "
            "proper case number.",
            "Don't cancel the direct debit - it can put the account into arrears and affect "
            "your credit file. Pay and dispute instead.",
            "If it's not resolved in 8 weeks, ask for a deadlock letter and take it to the "
            "ombudsman - it's free for you.",
            "Keep screenshots of every chat; they can't always see the transcripts.",
        ),
        wrong=(
            "Just cancel the direct debit, they can't do anything about it.",
            "Everyone gets charged twice in {month}, it's how the billing cycle works.",
            "You agreed to it in the terms and conditions, nothing you can do.",
            "Call charges to 0800 numbers are always £2 a minute from mobiles.",
        ),
        staff=(
            "I've looked into the account and you're right, the second payment was taken in "
            "error. A refund of £{amount2} has been processed and should reach your bank "
            "within 5 working days.",
            "The extra charge is a third-party subscription. I've removed it, blocked "
            "premium services and credited £{amount} to your next bill.",
            "I'm sorry the refund promised on case {case} wasn't processed. I've escalated it "
            "to our billing team and sent you a private message.",
        ),
    ),
    Topic(
        key="outage",
        tags=("outage", "network", "signal"),
        weight=14,
        titles=(
            "No signal in {postcode} since {since_short}",
            "Mast down in {town}?",
            "Network down {town} {postcode}",
            "Calls dropping in {town} all week",
            "Emergency calls only - {area} area",
            "Is there an outage in {town}?",
            "4G gone, only 3G/E in {postcode}",
            "No service around {town} AGAIN",
            "Signal terrible in {postcode}",
        ),
        details=(
            "No signal at all at home in {postcode} {since}.",
            "The network status checker says 'no known issues' for {postcode}, which is rubbish.",
            "Everyone in the house on {network} has the same problem, my neighbour on {other} "
            "is fine.",
            "It drops to 'Emergency calls only' as soon as I get home.",
            "Data is unusable - speed tests show under 0.5 Mbps in {town} town centre.",
            "It was fine until the mast work at the end of the road {when}.",
            "I work from home and need my phone for two-factor codes.",
        ),
        tried=(
            "Restarted, reset network settings, tried another phone. Same.",
            "Wi-Fi calling works, so at least I can make calls indoors.",
            "I've reported it on the network status page twice.",
            "The phone works fine when I go into {town} centre.",
        ),
        asks=(
            "Anyone else in {area} having problems?",
            "Is there any ETA for a fix?",
            "Will we get compensation for this?",
            "Is it a mast problem or my phone?",
        ),
        steps=(
            "Check the network status page for your full postcode, not just the area - "
            "planned work is listed there.",
            "Turn on Wi-Fi calling (Settings > Phone > Wi-Fi calling) so calls and texts work "
            "indoors while it's fixed.",
            "Report it through the status page even if it says no issues - reports from "
            "several postcodes are what gets an engineer sent.",
            "Try locking the phone to 4G only; some masts in {area} are having their 3G "
            "switched off and phones get stuck searching.",
            "If it's been more than 2 days, ask for automatic compensation - under the "
            "Ofcom scheme you're due a credit for each day.",
        ),
        wrong=(
            "It's the 5G masts, they block the 4G signal. Turn off 5G and it'll be fine.",
            "{network} switched off {area} permanently last month, you'll have to move network.",
            "Take the SIM out and put it in the freezer for 10 minutes, honestly works.",
        ),
        staff=(
            "There's a fault on a site serving {postcode} that our engineers are working on. "
            "The current estimate is 48 hours; Wi-Fi calling will keep you connected meanwhile.",
            "Planned upgrade work in {town} ran over. It's now complete - restart your phone "
            "and let us know if it's still bad.",
        ),
    ),
    Topic(
        key="unlocking",
        tags=("unlocking", "handset"),
        weight=7,
        titles=(
            "How do I unlock my {device}?",
            "Unlock code not working for {device}",
            "Bought a used {device} from {other}, locked to their network",
            "Phone says 'SIM network unlock PIN'",
            "Is my {device} unlocked?",
            "Unlock request refused - still in contract?",
        ),
        details=(
            "I bought the {device} {bought} and it's locked to {other}.",
            "When I put the {network} SIM in it asks for a 'SIM network unlock PIN'.",
            "I requested the unlock code {when} and got an email with a code but it says "
            "'unlock unsuccessful'.",
            "The phone was on a {network} contract that finished in {month}.",
            "The IMEI is {imei} if that helps.",
        ),
        tried=(
            "Typed the code in twice and now it says I have 3 attempts left.",
            "Asked {other} but they say they can't unlock a phone that's not on their account.",
            "Tried a SIM from another network and it says the same.",
        ),
        asks=(
            "Is there a fee for unlocking?",
            "Can {network} unlock a phone that came from {other}?",
            "How do I check if it's unlocked?",
        ),
        steps=(
            "Since December 2021 phones sold in the UK must be unlocked, so newer ones usually "
            "are - check Settings > About > SIM lock / Network lock.",
            "For a phone from {other}, only {other} can unlock it; {network} can't.",
            "Don't keep trying codes - most phones lock permanently after 5 to 10 wrong tries.",
            "For iPhones there's no code: once the network approves it, insert a different "
            "network's SIM and it unlocks over Wi-Fi.",
            "Request it through the unlocking form in My {network}, which needs the IMEI "
            "(dial *#06#).",
        ),
        wrong=(
            "Just download one of the free unlock apps from the Play Store, they all work.",
            "Unlocking voids your warranty and is illegal in the UK.",
            "Put the phone in airplane mode and enter 0000 as the unlock PIN.",
        ),
        staff=(
            "I've checked and the device is now showing as unlocked on our system. Please "
            "put a non-{network} SIM in and restart to confirm.",
        ),
    ),
    Topic(
        key="esim",
        tags=("esim",),
        weight=8,
        titles=(
            "eSIM QR code not working on {device}",
            "Can't transfer eSIM to new {device}",
            "eSIM profile deleted by mistake",
            "Switching from physical SIM to eSIM",
            "eSIM 'unable to activate' on {device}",
            "Does the {device} support eSIM?",
            "eSIM download failed - QR code used up?",
        ),
        details=(
            "I'm moving to a new {device} and scanned the QR code from the email but it says "
            "'This code is no longer valid'.",
            "I deleted the eSIM when I reset my old phone and now I've got no service.",
            "The phone shows 'Cellular plan unable to activate'.",
            "I've got a physical SIM now and want to switch it to eSIM before going to {country}.",
        ),
        tried=(
            "Tried on Wi-Fi and on 4G, same error.",
            "Requested a new QR code in the app but it hasn't arrived after {days} days.",
            "Restarted and updated iOS/Android to the latest version.",
        ),
        asks=(
            "How do I get a new QR code?",
            "Will I lose my number?",
            "Is there a charge for a new eSIM?",
        ),
        steps=(
            "Each QR code works once - if it's been scanned before (even on the old phone), "
            "request a new one in My {network} > SIM > Replace eSIM.",
            "Be on a stable Wi-Fi connection while it downloads.",
            "Check the phone isn't locked to another network; a locked phone rejects the profile.",
            "If the profile was deleted, your number is safe - it's tied to the account, not "
            "the eSIM.",
            "After it installs, set it as the default line for data and calls.",
        ),
        wrong=(
            "eSIMs only work on iPhones.",
            "If you delete an eSIM your number is gone forever, sorry.",
            "You have to go into a shop to get an eSIM, there's no other way.",
        ),
        staff=(
            "I've issued a new eSIM profile; the QR code will be in your email in the next "
            "10 minutes. It only works once, so scan it on the {device}.",
        ),
    ),
    Topic(
        key="data",
        tags=("data", "bundles"),
        weight=9,
        titles=(
            "Data used up way too fast",
            "Bundle renewed early",
            "Used {gb}GB in a day?!",
            "Hotspot/tethering not working on {plan}",
            "Data bundle not showing after top-up",
            "How do I check how much data I've got left?",
            "Mobile data stopped working but calls fine",
        ),
        details=(
            "My {plan} bundle renewed {when} and it was already gone by the weekend.",
            "The app says I've used {gb}GB but I've hardly touched the phone.",
            "I topped up £{topup} and bought the bundle but it's not showing.",
            "Hotspot was working last month on the same plan.",
            "I'm on my {device} and it says 'connected' but nothing loads.",
        ),
        tried=(
            "Checked which apps use data - nothing unusual.",
            "Turned off Wi-Fi assist / adaptive connectivity.",
            "Reset the APN to default.",
        ),
        asks=(
            "Is the data counter wrong?",
            "Can I get the data back?",
            "Is tethering blocked on my plan?",
        ),
        steps=(
            "Check usage per app in the phone's settings for the same dates as the bundle - "
            "background video autoplay and photo backups are the usual culprits.",
            "Turn off 'Wi-Fi assist' (iPhone) or 'Adaptive connectivity' (Android), which "
            "switch to mobile data when Wi-Fi is weak.",
            "The app's counter can lag by up to 24 hours, so compare after a day.",
            "Tethering is included on all plans except Pay as you go basics.",
            "Reset the APN: Settings > Mobile network > Access point names > Reset to default.",
        ),
        wrong=(
            "Data just disappears if you don't use it in the first week, that's the policy.",
            "{plan} doesn't include any data, you need a separate bundle.",
            "Turning off 5G saves half your data.",
        ),
        staff=(
            "I've checked the usage records and there was a metering fault on {since_short}. "
            "I've added {gb}GB back to your allowance.",
        ),
    ),
    Topic(
        key="5g",
        tags=("5g", "network"),
        weight=6,
        titles=(
            "No 5G in {town} even though the map says there is",
            "5G icon shows but speeds are awful",
            "5G keeps dropping to 4G on {device}",
            "Does {plan} include 5G?",
            "How do I turn on 5G on {device}?",
            "Is 5G standalone live on {network}?",
        ),
        details=(
            "The coverage map shows {postcode} as 'good 5G outdoors' but I never see it.",
            "When the 5G icon is up speed tests give about 2 Mbps.",
            "The {device} flips between 5G and 4G every few minutes which kills the battery.",
            "I'm on {plan} and I'm not sure 5G is included.",
        ),
        tried=(
            "Set preferred network to 5G/4G/3G auto.",
            "Updated the phone software.",
            "Compared with a friend on {other} standing next to me.",
        ),
        asks=(
            "Is 5G actually live here?",
            "Is my {device} compatible?",
            "Is it worth having it on?",
        ),
        steps=(
            "All plans include 5G at no extra cost, but the {device} needs the latest "
            "carrier settings to use it.",
            "The coverage map is for outdoors - indoor 5G is much patchier.",
            "If it keeps flipping, set the network mode to 4G only; you'll lose nothing indoors "
            "and save battery.",
            "Check the phone is a UK model - some imports don't support the UK 5G bands.",
        ),
        wrong=(
            "5G doesn't work on any phone older than 2024.",
            "You have to pay £5 a month extra for 5G.",
        ),
        staff=(
            "Our 5G in {town} is currently non-standalone, so you'll see it switch to 4G at "
            "times. An upgrade is planned for {month}.",
        ),
    ),
    Topic(
        key="contract",
        tags=("contract", "credit-check"),
        weight=8,
        titles=(
            "Credit check failed - why?",
            "Can I upgrade early?",
            "Contract ended but price went up",
            "Annual price rise of {pct}% - can I leave?",
            "Cancelling within 14 days - what happens?",
            "Buy-out cost for my {device} contract",
            "Airtime plan vs device plan - which do I cancel?",
        ),
        details=(
            "I applied for the {device} on a 24-month plan and got declined at the credit check.",
            "I've been a customer for {years} years and always paid on time.",
            "My contract ended in {month} and the price went up to £{amount} instead of going "
            "down.",
            "I got a letter saying prices are going up by {pct}% in April.",
            "I'm 8 months into a 24-month contract on {plan}.",
        ),
        tried=(
            "Checked my credit file with Experian and it looks fine.",
            "Asked live chat and they gave me a different answer each time.",
        ),
        asks=(
            "Can I leave without paying the rest?",
            "Will a failed credit check affect my score?",
            "Is it cheaper to just pay off the phone?",
        ),
        steps=(
            "A failed credit check doesn't lower your score, but several applications in a "
            "short time can; wait a few weeks before trying again.",
            "Device plans and airtime plans are separate: you can end the airtime and keep "
            "paying the device.",
            "Out of contract you can switch to SIM-only at any time with 30 days' notice.",
            "Mid-contract price rises that were written in £ in your contract don't give you "
            "a right to leave penalty-free; rises not in the contract do.",
            "Use the 'Switch and save' checker in My {network} to see the buy-out amount.",
        ),
        wrong=(
            "You can cancel any contract with 14 days' notice, it's the law.",
            "Just stop paying, after 3 months they write it off.",
        ),
        staff=(
            "I've checked and you're out of contract, so I've moved you to our current "
            "SIM-only {plan} at £{amount2} a month, starting from your next bill.",
        ),
    ),
)

GOOD_INTROS = (
    "Hi {asker}, this usually sorts it:",
    "Had exactly the same last month. Try this, in order:",
    "Welcome to the community {asker}! A few things to check:",
    "This comes up a lot. Here's what works:",
    "Right, step by step:",
    "Hi {asker} - don't panic, it's usually fixable.",
)
GOOD_OUTROS = (
    "Let us know how you get on.",
    "If that doesn't do it, post back here and we'll work out the next step.",
    "Hope that helps!",
    "If none of that works, ring 333 from your {network} phone (it's free).",
    "Good luck - and please mark this as the solution if it fixes it, helps the next person.",
    "",
)
STAFF_INTROS = (
    "Hi {asker}, {staff} from the {network} team here.",
    "Hello {asker}, thanks for your patience - {staff} here from the {network} social team.",
    "Hi {asker}, I'm sorry about this. {staff}, {network} community support.",
)
STAFF_OUTROS = (
    "I've sent you a private message so we can check your account securely - please don't "
    "post account details on the public forum.",
    "If anything else comes up, reply here and I'll pick it up.",
    "Thanks for flagging it, and sorry again for the hassle.",
)
ME_TOO = (
    "Same here.",
    "Same problem!",
    "+1",
    "Same here in {postcode}.",
    "Any update on this?",
    "bump",
    "Following.",
    "Me too - absolute joke.",
    "Same here on my {device}.",
    "Any news? Still the same for me.",
    "Same problem {since}.",
    "Did you ever get this sorted?",
    "Happening to my mum as well.",
    "same",
)
THANKS = (
    "That worked, thanks {helper}! Sorted.",
    "Brilliant, thank you - working now.",
    "Thanks {helper}, step 3 did it.",
    "Sorted. Cheers everyone.",
    "You're a star {helper}, thanks.",
    "Finally working! Thanks all.",
)
NOT_FIXED = (
    "Tried all that, still nothing.",
    "Done that twice already, no change.",
    "Thanks but that didn't work.",
    "Still the same this morning.",
    "No joy I'm afraid.",
    "I've done all of that. Anyone else?",
)
ANGRY = (
    "This is the third time I've posted and nobody from {network} has bothered to reply.",
    "ABSOLUTELY DISGRACEFUL SERVICE.",
    "I've been a customer for {years} years and this is how you treat me?",
    "I work from home and I've lost two days' pay because of this.",
    "Every time I ring I get cut off after 40 minutes on hold. Pathetic.",
    "Your live chat is a joke, it's a bot that just sends me links.",
    "Sort it out {network}!!!",
    "I'm so angry I could scream. Worst network I've ever been with.",
    "Don't bother telling me to restart my phone, I'm not an idiot.",
)
LEGAL = (
    "If this isn't refunded by Friday I'm filing a claim in the small claims court.",
    "I've already complained to Ofcom and I'll be going to the ombudsman once the eight "
    "weeks are up.",
    "My solicitor has advised me this is a breach of contract under the Consumer Rights Act 2015.",
    "I want a deadlock letter so I can take this to the Communications Ombudsman.",
    "Consider this a formal letter before action. You have 14 days.",
    "I've spoken to Citizens Advice and they say I can take you to court for this.",
    "I will be reporting {network} to Ofcom and Trading Standards.",
    "Expect to hear from my solicitor, {solicitor}.",
)
SOLICITORS = (
    "Harrow & Pike LLP",
    "Blackwood Sharma Solicitors",
    "Marsden Legal",
    "Okoye & Partners",
)
PERSONAL = (
    "My number is {phone} if anyone from {network} wants to ring me.",
    "You can email me on {email}.",
    "Account holder: {full_name}, {phone}, {email}.",
    "My IMEI is {imei}.",
    "Please call me on {phone} or my landline {landline}.",
    "I'm on {phone}, my wife's number {phone2} has the same issue.",
    "Contact me at {email} - I'm not checking this forum every day.",
    "My address is {house} {street}, {town} {postcode} {inward} if you need to send a new SIM.",
)
STREETS = (
    "Church Lane",
    "Victoria Road",
    "Station Road",
    "Mill Street",
    "Park Avenue",
    "High Street",
    "Orchard Close",
    "Queen's Drive",
    "Albert Terrace",
    "Coronation Street",
    "Elm Grove",
)
SPAM_TITLES = (
    "Unlock ANY phone in 5 mins - cheap codes",
    "Earn £500 a day from home!!!",
    "Cheap iPhone 15 Pro Max £199 brand new",
    "Best VPN for free roaming 2026",
    "CLICK HERE for free {network} credit",
    "Cheap followers and likes, fast delivery",
)
SPAM_BODIES = (
    "Unlock any phone in 5 minutes!!! Cheap codes, all networks. WhatsApp {phone} or email "
    "{email} now.",
    "I made £3,200 last week working from home with this simple trick -> "
    "http://totally-legit-earnings.example/ref={case}",
    "Brand new iPhone 15 Pro Max only £199, limited stock, DM me or call {phone}.",
    "Get FREE {network} credit at http://free-credit.example/claim?u={case} - works 100%!!!",
    "Buy followers, likes, reviews. Cheapest in UK. Contact {email}.",
)

# Hostile text, kept verbatim in the cache: the console must show it without interpreting it.
MARKUP_PAYLOADS = (
    "[bold red]ALERT[/] your account has been suspended",
    "[link=http://x.example]click here to claim your refund[/link]",
    "[@click=app.quit]press for support[/]",
    "[blink][reverse]URGENT[/reverse][/blink] read this",
    "[b]official[/b] [i]{network}[/i] notice [/]",
    "[on red][white]     SYSTEM MESSAGE     [/][/]",
    "[@click=app.bell]x[/] [@click=screen.dismiss]close[/]",
    "[dim]hidden[/dim] [link='javascript:alert(1)']js[/link] [/nonsense] [[escaped]]",
    "$accent [$primary]theme var[/] {{curly}} %s %d",
)
ANSI_PAYLOADS = (
    "\x1b[2J\x1b[H",
    "\x1b[31mthis text is red\x1b[0m",
    "\x1b]8;;http://evil.example/phish\x1b\\click to verify your SIM\x1b]8;;\x1b\\",
    "\x1b]52;c;cm0gLXJmIH4vKg==\x07",
    "\x1b]0;peerdesk pwned\x07",
    "\x1b[?1049h\x1b[?25l",
    "\x1b[5A\x1b[2Koverwritten line",
    "progress 10%\rprogress 100%\x08\x08\x08\x08done",
    "\x1bP+q544e\x1b\\",
    "\x1b[6n",
    "\x9b31mC1 CSI\x9b0m",
    "\x07\x07\x07 bell",
)
RTL_PAYLOADS = (
    "مرحبا، لا أستطيع تفعيل شريحة الاتصال الجديدة منذ يومين. الرجاء المساعدة",
    "שלום, אין לי קליטה בכלל מאז אתמול. מה עושים?",
    "The code is \u202eVDM-123\u202c (reversed with an RLO)",
    "رقم الحساب {phone} - شكرا جزيلا",
    "mixed: my number ‏07700 900123‏ and שלום and مرحبا in one line",
)
EMOJI_PAYLOADS = (
    "📱❌📶 no signal 😡😡😡",
    "👨‍👩‍👧‍👦 family plan broken 🙃",
    "🏳️‍🌈🏴󠁧󠁢󠁳󠁣󠁴󠁿🇬🇧🇪🇸 roaming flags",
    "👍🏽👍🏿 thumbs, 🧑🏻‍💻 techie",
    "re\u200bfund\u200b please\u200d\u200d\u200d \ufeffBOM\u2060joiner",
    "Z̸̢̛̪̗̈́͆a̷̩̓l̶̰̈g̵̤͝o̸͓̊ ̶̱̏t̴̠͗ë̵̥x̶͍̾t̷͚̋",
    "ｆｕｌｌｗｉｄｔｈ text and 漢字テキスト mixed",
    "tab\there\tand\x0bvertical\x0cform feed",
)
