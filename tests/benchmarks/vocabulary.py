"""The words the story generator is made of: outlets, names, and headline/sentence templates per topic.

Data only. Headline templates are written in wire and BBC style and use the keywords of
``digests/data/topics.toml`` the way real headlines do, so the tagger sees realistic text: most
headlines carry one topic, some two ("Supreme Court blocks tariff ..."). Placeholders in braces are
filled from `SLOTS`.
"""

from __future__ import annotations

# (outlet name, domain, share of the traffic); about forty outlets, wire services the busiest.
SOURCES: tuple[tuple[str, str, int], ...] = (
    ("Reuters", "www.reuters.com", 12),
    ("Associated Press", "apnews.com", 11),
    ("BBC News", "www.bbc.co.uk", 10),
    ("AFP", "www.france24.com", 6),
    ("Bloomberg", "www.bloomberg.com", 6),
    ("The Guardian", "www.theguardian.com", 6),
    ("NPR", "www.npr.org", 3),
    ("CNN", "edition.cnn.com", 4),
    ("Al Jazeera", "www.aljazeera.com", 4),
    ("Financial Times", "www.ft.com", 3),
    ("The New York Times", "www.nytimes.com", 4),
    ("The Washington Post", "www.washingtonpost.com", 3),
    ("Politico", "www.politico.com", 3),
    ("Axios", "www.axios.com", 2),
    ("The Hill", "thehill.com", 2),
    ("Sky News", "news.sky.com", 3),
    ("Deutsche Welle", "www.dw.com", 2),
    ("France 24", "www.france24.com", 2),
    ("CNBC", "www.cnbc.com", 3),
    ("The Wall Street Journal", "www.wsj.com", 3),
    ("The Economist", "www.economist.com", 1),
    ("Nikkei Asia", "asia.nikkei.com", 1),
    ("South China Morning Post", "www.scmp.com", 2),
    ("The Times of India", "timesofindia.indiatimes.com", 2),
    ("ABC News", "abcnews.go.com", 2),
    ("CBS News", "www.cbsnews.com", 2),
    ("NBC News", "www.nbcnews.com", 2),
    ("USA Today", "www.usatoday.com", 2),
    ("Los Angeles Times", "www.latimes.com", 1),
    ("The Independent", "www.independent.co.uk", 2),
    ("The Telegraph", "www.telegraph.co.uk", 1),
    ("Euronews", "www.euronews.com", 1),
    ("Kyiv Independent", "kyivindependent.com", 1),
    ("The Japan Times", "www.japantimes.co.jp", 1),
    ("The Straits Times", "www.straitstimes.com", 1),
    ("The Globe and Mail", "www.theglobeandmail.com", 1),
    ("The Sydney Morning Herald", "www.smh.com.au", 1),
    ("The Irish Times", "www.irishtimes.com", 1),
    ("ESPN", "www.espn.com", 2),
    ("Variety", "variety.com", 1),
    ("The Verge", "www.theverge.com", 1),
    ("Ars Technica", "arstechnica.com", 1),
)

# URL path section per topic slug.
SECTIONS: dict[str, str] = {
    "defense": "world/security",
    "diplomacy": "world",
    "us-politics": "politics",
    "economy": "business/economy",
    "trade": "business/trade",
    "technology": "technology",
    "science-health": "science",
    "immigration": "us-news/immigration",
    "energy-climate": "climate",
    "law-courts": "legal",
    "elections": "politics/elections",
    "sports": "sport",
    "culture": "culture",
}

# How often each topic leads a story (a general-news mix).
TOPIC_WEIGHTS: dict[str, int] = {
    "defense": 10,
    "diplomacy": 10,
    "us-politics": 10,
    "economy": 11,
    "trade": 6,
    "technology": 10,
    "science-health": 8,
    "immigration": 5,
    "energy-climate": 7,
    "law-courts": 7,
    "elections": 5,
    "sports": 7,
    "culture": 4,
}

SLOTS: dict[str, tuple[str, ...]] = {
    "country": (
        "Ukraine", "Russia", "China", "Japan", "India", "Brazil", "Mexico", "Canada", "Germany", "France",
        "Poland", "Turkey", "Iran", "Israel", "Egypt", "Nigeria", "Kenya", "South Africa", "Australia",
        "South Korea", "Indonesia", "Vietnam", "Argentina", "Saudi Arabia", "Pakistan", "Italy", "Spain",
        "Sweden", "Finland", "Denmark", "Norway", "the Philippines", "Colombia", "Venezuela", "Ethiopia",
    ),
    "city": (
        "Brussels", "Geneva", "Vienna", "Doha", "Istanbul", "Tokyo", "Seoul", "Nairobi", "Warsaw", "Berlin",
        "Paris", "London", "Madrid", "Rome", "Ottawa", "Canberra", "Jakarta", "Riyadh", "Cairo", "Helsinki",
    ),
    "us_state": (
        "Texas", "California", "Florida", "Georgia", "Arizona", "Pennsylvania", "Michigan", "Nevada",
        "Wisconsin", "North Carolina", "Ohio", "Virginia", "New York", "Illinois", "Colorado",
    ),
    "us_city": (
        "Chicago", "Los Angeles", "Houston", "Phoenix", "Atlanta", "Denver", "Miami", "Seattle", "Boston",
        "Minneapolis", "Newark", "San Diego", "El Paso", "Charlotte", "Portland",
    ),
    "leader": (
        "Putin", "Zelensky", "Xi Jinping", "Macron", "Starmer", "Modi", "Erdogan", "Lula", "Carney",
        "Albanese", "Netanyahu", "Meloni", "Merz", "Sanchez", "Ramaphosa",
    ),
    "official": (
        "Rubio", "Hegseth", "Powell", "Schumer", "Mike Johnson", "Jeffries", "the attorney general",
        "the Treasury Secretary", "the commerce secretary", "the defense secretary",
    ),
    "company": (
        "Boeing", "JPMorgan", "Goldman Sachs", "Walmart", "Ford", "General Motors", "Unilever", "Nestle",
        "Siemens", "Toyota", "Volkswagen", "BHP", "Pfizer", "Moderna", "Disney", "Shell", "BP", "Exxon",
    ),
    "tech_company": (
        "Nvidia", "OpenAI", "Anthropic", "Apple", "Google", "Microsoft", "Amazon", "Meta", "TikTok",
        "Samsung", "Intel", "Qualcomm", "Tesla", "SpaceX", "Cloudflare",
    ),
    "team": (
        "Arsenal", "Manchester City", "Manchester United", "Real Madrid", "Tottenham", "the Lakers",
        "the Celtics", "the Yankees", "the Dodgers", "the Eagles", "the Cowboys", "the Knicks", "the Warriors",
    ),
    "athlete": (
        "Sinner", "Alcaraz", "Swiatek", "Gauff", "Verstappen", "Norris", "Haaland", "Saka", "Mbappe",
        "LeBron James", "Mahomes", "Ohtani", "McIlroy", "Scheffler",
    ),
    "artist": (
        "Taylor Swift", "Beyonce", "Kendrick Lamar", "Billie Eilish", "Dua Lipa", "Adele", "Bad Bunny",
        "Christopher Nolan", "Greta Gerwig", "Denis Villeneuve", "Olivia Colman", "Cillian Murphy",
    ),
    "product": (
        "steel", "aluminium", "cars", "semiconductors", "soybeans", "pharmaceuticals", "solar panels",
        "lumber", "dairy", "wine", "critical minerals", "electric vehicles", "rare earths",
    ),
    "disease": ("measles", "bird flu", "mpox", "malaria", "Covid", "influenza", "dengue", "cholera"),
    "number": ("two", "three", "four", "five", "six", "seven", "eight", "10", "12", "15", "20", "dozens of"),
    "big_number": ("1,200", "3,400", "5,000", "12,000", "40,000", "100,000", "250,000", "2 million"),
    "percent": ("0.2%", "0.3%", "0.5%", "1.1%", "2.4%", "3%", "4.5%", "7%", "12%", "25%"),
    "money": ("$2bn", "$4.5bn", "$12bn", "$40bn", "£1.3bn", "€6bn", "$600m", "$150m", "$1tn"),
    "weekday": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}

HEADLINES: dict[str, tuple[str, ...]] = {
    "defense": (
        "NATO allies pledge to raise defense spending as {country} warns of Russian threat",
        "{country} says air defences shot down {number} drones overnight",
        "Pentagon to send more troops and fighter jets to eastern Europe",
        "Missile strike on {country} port kills {number}, officials say",
        "Hegseth unveils new National Defense Strategy focused on Arctic security",
        "{country} army reports heavy shelling along the front line",
        "Military says {number} soldiers killed in militant attack in {country}",
        "NATO’s Arctic security plans face test as {country} boosts navy patrols",
        "Submarine deal with {country} signals shift in regional military balance",
        "Drone attack on {country} power station blamed on Russian forces",
        "{country} defence minister calls for new weapons for war in Ukraine",
    ),
    "diplomacy": (
        "{leader} and {leader} hold talks in {city} on peace plan",
        "UN Security Council meets in emergency session on {country}",
        "Rubio heads to {city} for talks on Ukraine ceasefire",
        "{country} recalls ambassador after diplomatic row with {country}",
        "EU foreign ministers agree new sanctions on Russia",
        "Kremlin says Putin open to summit with Zelensky in {city}",
        "{country} and {country} sign treaty to end border dispute",
        "Prisoner swap between Russia and Ukraine frees {number} captives",
        "G7 leaders meet in {city} as allies split over Greenland",
        "{leader} says sovereignty of {country} is not up for negotiation",
        "Envoys arrive in {city} as peace talks resume",
    ),
    "us-politics": (
        "Senate Republicans unveil plan to avert government shutdown",
        "House Speaker Mike Johnson faces revolt over spending bill",
        "White House signs executive order on federal workforce",
        "Democrats accuse Trump administration of defying Congress",
        "Schumer says Senate will vote on {us_state} disaster aid this week",
        "Bipartisan group of senators backs new border bill",
        "Jeffries urges Democrats to hold the line on health care funding",
        "Trump administration fires {number} inspectors general, lawmakers say",
        "Congressional hearing grills cabinet secretary over budget cuts",
        "GOP lawmakers push to extend tax cuts before recess",
    ),
    "economy": (
        "Fed holds interest rates steady as Powell warns on inflation",
        "US economy adds {big_number} jobs as unemployment rate holds",
        "Wall Street stocks fall as Treasury yields climb",
        "Inflation in the eurozone eases to {percent} in latest reading",
        "Bank of England cuts interest rate to {percent}",
        "{company} shares jump after quarterly earnings beat forecasts",
        "Consumer prices rise {percent} as cost of living squeeze continues",
        "Economists warn of recession risk as GDP growth slows",
        "Dollar slips against the yen ahead of central bank decision",
        "{company} to cut {big_number} jobs in restructuring",
        "Mortgage rates hit highest level since {weekday}, lenders say",
        "Retail sales beat expectations as consumer spending holds up",
    ),
    "trade": (
        "US to impose {percent} tariffs on {product} imports from {country}",
        "{country} retaliates with tariffs on US {product}",
        "Trade talks between {country} and the EU stall over {product}",
        "WTO warns trade war will hit global exports",
        "{country} and {country} sign free trade agreement",
        "Exports of {product} slump as tariffs bite",
        "Commerce Department tightens export controls on {product}",
        "Supply chain strains grow as tariff deadline nears",
        "Trade deficit narrows as imports of {product} fall",
        "Critical minerals deal gives {country} access to US market",
    ),
    "technology": (
        "{tech_company} unveils new AI model as chip race heats up",
        "Nvidia market value tops {money} on demand for AI chips",
        "OpenAI and {tech_company} strike deal on data centre capacity",
        "Ransomware attack disrupts hospitals across {us_state}",
        "{tech_company} faces fine over data breach affecting {big_number} users",
        "Semiconductor maker to build {money} plant in {us_state}",
        "TikTok deal talks drag on as deadline looms",
        "Tesla recalls {big_number} cars over Autopilot software flaw",
        "Hackers linked to {country} target telecom networks, researchers say",
        "{tech_company} to invest {money} in AI data centers",
        "Social media platforms face new rules on teenage users",
    ),
    "science-health": (
        "Measles outbreak in {us_state} grows to {number} cases",
        "New study finds link between diet and cancer risk",
        "WHO warns of rising {disease} cases in {country}",
        "NASA delays moon mission after rocket fault",
        "Scientists discover new species of dinosaur in {country}",
        "FDA approves new drug for obesity and diabetes",
        "Hospital waiting lists grow as NHS faces winter pressure",
        "Astronauts return from space station after {number} months",
        "Clinical trial shows vaccine cuts {disease} deaths by {percent}",
        "Researchers say telescope spotted planet that could host water",
        "Bird flu detected in dairy herds in {number} more states",
    ),
    "immigration": (
        "ICE raids in {us_city} detain {number} migrants, advocates say",
        "Border Patrol apprehensions fall at southern border",
        "Judge blocks deportation flights to {country}",
        "Asylum seekers wait in {us_city} as shelters fill up",
        "UK small boats crossings reach {big_number} this year",
        "Immigration agents arrest workers at {us_state} plant",
        "Trump administration ends protected status for migrants from {country}",
        "Refugee admissions cut to record low",
        "Deported veteran returns after {number} years",
        "Visa rules tightened for students from {country}",
    ),
    "energy-climate": (
        "Oil prices climb as OPEC agrees to extend output cuts",
        "Heatwave pushes power grid to the limit in {us_state}",
        "Wildfire forces thousands to flee in {country}",
        "Climate talks stall over fossil fuel phase-out",
        "{country} approves new offshore wind farm",
        "Carbon emissions hit record high despite renewables boom",
        "Gas prices fall ahead of holiday weekend",
        "Electric vehicle sales slow in {country} as subsidies end",
        "Drought threatens hydropower in {country}",
        "Scientists say this year likely to be the hottest year on record",
        "Shell and BP report lower profits on weaker oil prices",
    ),
    "law-courts": (
        "Supreme Court to hear challenge to tariff powers",
        "Judge rules against Trump administration in funding dispute",
        "Jury finds {company} liable in {money} lawsuit",
        "Former official pleads guilty to bribery charges",
        "Appeals court blocks {us_state} law on social media",
        "FBI opens investigation into {us_city} shooting",
        "Prosecutors charge {number} in {money} fraud scheme",
        "Justice Department sues {us_state} over voting law",
        "Court sentences former minister to {number} years in prison",
        "Antitrust trial against {tech_company} opens in Washington",
    ),
    "elections": (
        "Voters in {country} head to the polls in tight election",
        "Exit poll shows ruling party losing majority in {country}",
        "{us_state} governor's race tightens in final week, poll shows",
        "Turnout hits record in {country} referendum",
        "Candidate concedes after runoff in {country}",
        "Midterm campaign trail heats up in swing state {us_state}",
        "Electoral commission orders recount in {us_city} mayoral race",
        "Opposition leader wins presidential election in {country}",
        "Early voting opens in {us_state} ahead of primaries",
    ),
    "sports": (
        "{team} beat {team} {number}-1 to go top of the Premier League",
        "{athlete} wins Wimbledon title in straight sets",
        "{athlete} takes pole at the {country} Grand Prix",
        "Champions League: {team} through to the quarter-finals",
        "{athlete} signs record contract extension",
        "World Cup qualifier ends in draw in {city}",
        "{athlete} ruled out for {number} weeks with injury",
        "NBA playoffs: {team} level the series",
        "Super Bowl ticket prices soar ahead of kick-off",
        "Olympic champion {athlete} announces retirement",
        "Tour de France: breakaway wins stage {number} in the Alps",
    ),
    "culture": (
        "{artist} announces world tour with {number} stadium dates",
        "Box office: new film tops charts with {money} opening",
        "{artist} wins best actor at the Oscars",
        "Museum returns looted art to {country}",
        "Netflix orders second season of hit TV series",
        "{artist} album breaks streaming records",
        "Broadway theatre reopens after {number}-month renovation",
        "Film festival in {city} opens with premiere of new documentary",
        "Grammy nominations: {artist} leads with {number} nods",
        "Novelist wins Booker Prize for debut novel",
    ),
}

# Sentences for summaries and bodies; topic-specific first, `GENERIC` sentences fill the rest.
SENTENCES: dict[str, tuple[str, ...]] = {
    "defense": (
        "The military said its air defence units were on high alert after the overnight attack.",
        "NATO officials said allies would discuss troop deployments at a meeting in {city} next week.",
        "The defence ministry did not say how many weapons systems would be delivered.",
        "Analysts said the strike showed the reach of the country’s long-range missile programme.",
    ),
    "diplomacy": (
        "Diplomats said the talks in {city} had been constructive but that gaps remained.",
        "The foreign ministry said the ambassador had been summoned for an explanation.",
        "{leader} said a peace deal could only be reached with security guarantees for {country}.",
        "The UN chief urged all sides to return to the negotiating table.",
    ),
    "us-politics": (
        "Republicans in the Senate need Democratic votes to pass the measure.",
        "The White House said the president would sign the bill if it reached his desk.",
        "Lawmakers have until {weekday} to reach a deal before the deadline.",
        "The speaker told reporters on Capitol Hill that the House would vote this week.",
    ),
    "economy": (
        "Economists polled by Reuters had expected a rise of {percent}.",
        "The central bank said inflation remained above its target.",
        "Stocks on Wall Street fell in early trading, with the Nasdaq down {percent}.",
        "Investors are watching for signs that the labour market is cooling.",
    ),
    "trade": (
        "The tariffs will apply to {product} from {country} from next month.",
        "Exporters warned that the new duties would disrupt supply chains.",
        "Trade officials from both sides are due to meet again in {city}.",
        "Imports of {product} have fallen by {percent} since the start of the year.",
    ),
    "technology": (
        "The company said the AI model had been trained on its own data centre chips.",
        "Security researchers said the hackers had been inside the network for months.",
        "Shares in {tech_company} rose {percent} in after-hours trading.",
        "Regulators in Brussels are examining whether the deal breaks competition rules.",
    ),
    "science-health": (
        "Health officials urged parents to make sure children were vaccinated.",
        "The study, published in the journal Nature, followed {big_number} patients.",
        "Scientists said more research was needed before the findings could be confirmed.",
        "Hospitals in {us_state} have reported a rise in admissions this month.",
    ),
    "immigration": (
        "Immigration advocates said families had been separated during the raids.",
        "The Department of Homeland Security said those detained had been in the country illegally.",
        "Asylum applications have risen sharply since the start of the year.",
        "The border crossing was closed for several hours on {weekday}.",
    ),
    "energy-climate": (
        "Brent crude rose {percent} to its highest level in a month.",
        "Firefighters were battling the blaze in strong winds and high temperatures.",
        "The grid operator asked customers to conserve electricity during the evening peak.",
        "Climate scientists said the heatwave had been made more likely by global warming.",
    ),
    "law-courts": (
        "The judge said the government had failed to follow the law.",
        "Lawyers for the defendant said they would appeal the ruling.",
        "Prosecutors said the scheme had defrauded investors of {money}.",
        "The case is expected to reach the Supreme Court next year.",
    ),
    "elections": (
        "Polls opened at 7am and will close at 8pm local time.",
        "Preliminary results are expected late on {weekday}.",
        "Turnout was higher than at the last election, officials said.",
        "The candidate thanked voters and urged supporters to stay calm.",
    ),
    "sports": (
        "The match was watched by a crowd of {big_number}.",
        "{athlete} said afterwards that the team had deserved the win.",
        "The result leaves {team} {number} points clear at the top.",
        "The coach said the injury was not as serious as first feared.",
    ),
    "culture": (
        "The film has taken {money} at the global box office.",
        "Tickets for the tour sold out within minutes.",
        "The exhibition runs until the end of the year.",
        "Critics praised the performance as the best of the actor’s career.",
    ),
}

GENERIC: tuple[str, ...] = (
    "Officials said more details would be released in the coming days.",
    "The announcement came after weeks of speculation.",
    "It was not immediately clear how many people were affected.",
    "A spokesperson declined to comment further.",
    "The decision is likely to face opposition from critics.",
    "Reporters were told that talks would continue on {weekday}.",
    "The government said it was monitoring the situation closely.",
    "Local media reported that the situation remained tense.",
    "The move was welcomed by some but criticised by others.",
    "Further updates are expected later on {weekday}.",
)

# Words a user might search for with `/stories` (P5's bot process); every one appears in generated text.
SEARCH_WORDS: tuple[str, ...] = (
    "Greenland", "tariffs", "Powell", "ceasefire", "measles", "Nvidia", "wildfire", "Supreme Court",
    "asylum", "Premier League", "inflation", "drones", "shutdown", "OPEC", "Oscars", "referendum",
    "ransomware", "Wimbledon", "sanctions", "heatwave", "Arctic security", "data centre", "bird flu",
)

# What the P2 benchmark types, by shape (counts are stories of 100,000 that match).
SEARCHES: dict[str, tuple[str, ...]] = {
    "common": ("officials", "says", "talks", "court", "Ukraine", "tariffs", "inflation", "ceasefire"),  # 2–58 %
    "rare": ("Booker", "Villeneuve", "Moderna", "cholera", "looted", "espionage"),  # 0.1–0.5 %
    "absent": ("zeppelin", "quokka", "marzipan", "typewriter", "origami"),
    "words": ("interest rates", "Supreme Court", "peace talks", "bird flu", "Wimbledon Nvidia", "Oscars tariffs"),
    "phrase": ('"interest rates"', '"Supreme Court"', '"bird flu"', '"peace talks"', '"Arctic security"'),
    "prefix": ("tariff*", "drone*", "election*", "vaccine*", "sanction*"),
}

# Headlines put together as subject + predicate, so a day of one topic holds hundreds of
# different headlines rather than the same few templates again and again (the digest clusters
# headlines by shared words, and real days are that varied). The subject usually carries the
# topic's keyword.
SUBJECTS: dict[str, tuple[str, ...]] = {
    "defense": (
        "NATO", "Pentagon", "{country} military", "{country}’s defence minister", "Hegseth", "{country} navy",
        "Russian forces", "Ukrainian troops", "{country} air force", "Army chiefs", "Missile maker",
        "Defense Department", "Nato allies", "Drone strike in {country}", "Military planners",
    ),
    "diplomacy": (
        "{leader}", "UN Security Council", "Rubio", "Kremlin", "EU foreign ministers", "{country}’s foreign minister",
        "G7 envoys", "Diplomats in {city}", "Zelensky", "Xi Jinping", "{country} ambassador", "UN chief",
        "State Department", "Peace talks in {city}", "{leader}’s envoy",
    ),
    "us-politics": (
        "Senate Republicans", "House Democrats", "White House", "Speaker Mike Johnson", "Schumer", "Jeffries",
        "GOP lawmakers", "Congress", "Trump administration", "Senate panel", "Bipartisan senators",
        "{us_state} Republicans", "Oval Office", "Capitol Hill negotiators",
    ),
    "economy": (
        "Fed", "Powell", "Wall Street", "Bank of England", "ECB", "{company}", "US economy", "Eurozone inflation",
        "Stock markets", "Treasury yields", "Mortgage lenders", "Central bank in {country}", "Jobs report",
        "Investors", "Economists", "{country}’s economy",
    ),
    "trade": (
        "US tariffs on {product}", "{country}", "Trade talks with {country}", "WTO", "Commerce Department",
        "Exporters of {product}", "EU trade ministers", "{country}’s trade minister", "US trade representative",
        "Importers", "Tariff on {product}", "Supply chain for {product}",
    ),
    "technology": (
        "{tech_company}", "OpenAI", "Nvidia", "AI start-up", "Chipmaker", "{tech_company}’s AI unit",
        "Ransomware gang", "Hackers", "Social media giants", "Semiconductor industry", "TikTok",
        "Tesla’s Autopilot", "Data centre boom", "Silicon Valley investors",
    ),
    "science-health": (
        "WHO", "NASA", "Scientists", "NHS", "FDA", "CDC", "{disease} outbreak", "Researchers in {country}",
        "New study", "Hospital chiefs", "Vaccine makers", "Astronauts", "Health officials in {us_state}",
        "Cancer researchers",
    ),
    "immigration": (
        "ICE", "Border Patrol", "Asylum seekers", "Migrants in {us_city}", "Immigration judges",
        "Deportation flights", "Refugee agencies", "{us_state} sheriffs and ICE", "Visa applicants from {country}",
        "Small boats crossings", "Immigration advocates", "Home Office asylum plan",
    ),
    "energy-climate": (
        "Oil prices", "OPEC", "Climate talks", "{country}’s wind farm", "Heatwave", "Wildfire in {country}",
        "Solar industry", "Power grid in {us_state}", "Shell", "BP", "Carbon emissions", "Electric vehicle makers",
        "Drought in {country}", "Gas prices",
    ),
    "law-courts": (
        "Supreme Court", "Federal judge", "Appeals court", "Jury in {us_city}", "Prosecutors", "Justice Department",
        "FBI", "Attorney general", "{company} lawsuit", "Court in {country}", "Defence lawyers",
        "Antitrust case against {tech_company}",
    ),
    "elections": (
        "Voters in {country}", "Exit poll", "{us_state} governor's race", "Election officials", "Opposition candidate",
        "Turnout in {country}", "Referendum campaign", "Midterm candidates", "Ruling party in {country}",
        "Polls in {us_state}", "Runoff in {country}", "Electoral commission",
    ),
    "sports": (
        "{team}", "{athlete}", "Premier League leaders", "Champions League holders", "NBA champions",
        "World Cup hosts {country}", "Wimbledon champion {athlete}", "Formula 1 boss", "Olympic committee",
        "{team} manager", "Tour de France leader", "NFL quarterback",
    ),
    "culture": (
        "{artist}", "Netflix", "Box office", "Hollywood studio", "Museum in {city}", "Broadway",
        "Film festival in {city}", "Grammy organisers", "Oscar winner {artist}", "BBC drama", "Pop star {artist}",
        "Art gallery",
    ),
}

PREDICATES: dict[str, tuple[str, ...]] = {
    "defense": (
        "orders review of missile defences", "sends {number} warships to the Baltic", "warns of drone threat",
        "boosts defense spending by {percent}", "confirms strike on weapons depot", "deploys troops near border",
        "signs {money} arms deal", "tests new ballistic missile", "reports heavy shelling overnight",
        "holds Arctic security drills", "loses {number} soldiers in ambush", "unveils fighter jet upgrade",
        "steps up air defence", "accuses {country} of espionage",
    ),
    "diplomacy": (
        "calls for ceasefire", "meets {leader} in {city}", "proposes peace plan", "imposes new sanctions",
        "recalls ambassador", "hosts emergency summit", "signs treaty with {country}", "rejects annexation talk",
        "pushes for prisoner swap", "warns over Greenland", "backs UN resolution", "opens talks on border dispute",
        "says sovereignty is not negotiable", "visits {country} for talks",
    ),
    "us-politics": (
        "unveil spending bill", "face government shutdown deadline", "clash over executive order",
        "launch impeachment inquiry", "block nominee", "pass bipartisan border bill", "demand answers from cabinet",
        "split over tax cuts", "delay vote until {weekday}", "reject Senate deal", "defend federal layoffs",
        "push filibuster change",
    ),
    "economy": (
        "holds interest rates", "warns on inflation", "cuts rates to {percent}", "reports {percent} growth",
        "misses earnings forecasts", "to cut {big_number} jobs", "sees recession risk", "shrugs off weak GDP data",
        "hits record high", "slides {percent} on rate fears", "raises prices again", "posts {money} profit",
        "braces for jobs data", "lifts mortgage rates",
    ),
    "trade": (
        "threatens tariffs on {product}", "strikes trade deal", "hits back with tariffs", "files WTO complaint",
        "tightens export controls", "seeks exemption for {product}", "warns of trade war", "cuts imports of {product}",
        "signs free trade agreement with {country}", "delays tariff deadline", "reports record trade deficit",
        "opens talks on critical minerals",
    ),
    "technology": (
        "unveils new AI model", "faces {money} fine over data breach", "hit by cyberattack", "cuts {big_number} jobs",
        "to build {money} data centre", "launches chatbot rival", "recalls software update", "wins chip contract",
        "under fire over teen safety", "buys AI start-up for {money}", "shares jump on AI demand",
        "delays smartphone launch", "sued over algorithm",
    ),
    "science-health": (
        "warns of {disease} surge", "approves new vaccine", "delays moon mission", "finds link to cancer",
        "reports {number} new measles cases", "discovers new species", "launches clinical trial",
        "says hospital waits are growing", "tracks asteroid near Earth", "expands bird flu testing",
        "publishes study in Nature", "calls for mental health funding",
    ),
    "immigration": (
        "detain {number} in raid", "face deportation", "wait months for asylum hearings", "blocked by judge",
        "expand border patrols", "cross the Channel in record numbers", "challenge visa rules",
        "end protected status", "open new detention centre", "sue over deportation flights",
        "report fall in border crossings", "plan citizenship test overhaul",
    ),
    "energy-climate": (
        "climb on supply fears", "agrees output cut", "stall over fossil fuels", "wins approval",
        "pushes grid to the limit", "forces thousands to flee", "hits record emissions", "cuts carbon targets",
        "reports lower profits", "fall ahead of holiday", "plans {money} renewables push", "warns of power cuts",
        "threatens hydropower", "faces pollution fine",
    ),
    "law-courts": (
        "blocks tariff powers", "rules against administration", "hears landmark case", "indicts former official",
        "sentences ex-minister to {number} years", "opens antitrust trial", "dismisses lawsuit", "orders new trial",
        "charges {number} in fraud scheme", "subpoenas records", "upholds verdict", "launches investigation",
    ),
    "elections": (
        "head to the polls", "shows ruling party behind", "tightens in final week", "orders recount",
        "concedes defeat", "hits record turnout", "promises snap election", "leads in latest poll",
        "faces runoff", "accused of ballot irregularities", "opens early voting", "wins landslide",
    ),
    "sports": (
        "beat {team} {number}-1", "win title in straight sets", "sign record contract", "sack manager",
        "reach Champions League final", "ruled out for {number} weeks", "take pole in {country}",
        "announce retirement", "level playoff series", "break world record", "win Grand Prix",
        "fined over transfer deadline breach",
    ),
    "culture": (
        "announces world tour", "tops box office", "wins Oscar", "returns looted art", "orders new TV series",
        "breaks streaming record", "opens new exhibition", "cancels concert", "sued over album",
        "premieres documentary", "leads Grammy nominations", "reopens after renovation",
    ),
}
