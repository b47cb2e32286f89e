"""A second vocabulary for the benchmarks: headlines put together from a few hundred words, so a topic's
words rarely meet another topic's.

Data only. Every headline is "subject verb object in place": the subject, verb and object come from the
story's topic (twenty, twelve and twelve words a topic), the place from two hundred cities shared by all
topics. So a broad topic (technology is one story in ten) and a word of another topic (`strikers`) are
each common in the store yet never meet, a place is in about one story in fifty, and most words
a user might type (`chips`) are in no story at all: the shapes an outside measurement found slow, which
`vocabulary.py`'s templates, where topics share their slot words, hardly produce.
"""

from __future__ import annotations

# Per topic: subjects, verbs, objects (space-separated single words, so each is one search term).
WORDS: dict[str, tuple[str, str, str]] = {
    "defense": (
        "generals admirals commanders battalions brigades garrisons paratroopers marines sappers gunners "
        "snipers frigates destroyers corvettes howitzers interceptors bombers squadrons regiments militias",
        "mobilise redeploy fortify bombard intercept shell outflank encircle garrison patrol drill requisition",
        "bunkers trenches warheads munitions artillery minefields airbases barracks armour radars silos convoys",
    ),
    "diplomacy": (
        "envoys ambassadors consuls emissaries diplomats ministers chancellors mediators negotiators attaches "
        "delegations summiteers statesmen plenipotentiaries secretariats legations chanceries consulates "
        "embassies protocolists",
        "ratify negotiate mediate broker convene summon demarche accredit repatriate reconcile normalise rebuff",
        "treaties accords communiques memoranda protocols armistices truces concordats credentials visas "
        "detente rapprochement",
    ),
    "us-politics": (
        "senators congressmen congresswomen caucuses whips speakers lobbyists staffers filibusterers "
        "appropriators committees subcommittees governors aldermen partisans pollsters operatives "
        "strategists donors insiders",
        "filibuster gerrymander subpoena impeach censure override veto appropriate earmark caucus lobby "
        "stonewall",
        "bills earmarks resolutions amendments nominees shutdowns budgets hearings primaries caucuses "
        "filibusters riders",
    ),
    "economy": (
        "bankers economists traders investors lenders borrowers creditors shareholders bondholders "
        "actuaries underwriters brokers auditors accountants treasurers financiers speculators hedgers "
        "arbitrageurs depositors",
        "tighten loosen devalue refinance securitise underwrite hedge leverage liquidate default "
        "recapitalise reprice",
        "yields bonds mortgages equities dividends deficits surpluses debts currencies futures "
        "derivatives annuities",
    ),
    "trade": (
        "exporters importers shippers freighters customs smugglers wholesalers distributors forwarders "
        "stevedores dockers hauliers merchants tariffists chandlers brokerages consignors consignees "
        "warehousers carriers",
        "embargo levy quota dump tranship reexport smuggle blockade unload consign ship stockpile",
        "containers cargoes tariffs quotas embargoes duties shipments consignments pallets manifests "
        "tonnage freight",
    ),
    "technology": (
        "programmers engineers hackers coders startups chipmakers founders developers technologists "
        "sysadmins roboticists cryptographers modders testers architects designers analysts gamers "
        "streamers influencers",
        "encrypt decrypt debug compile deploy refactor patch reboot virtualise containerise benchmark "
        "overclock",
        "servers chatbots algorithms databases firmware routers drones satellites browsers smartphones "
        "processors compilers",
    ),
    "science-health": (
        "surgeons nurses virologists epidemiologists biologists chemists physicists astronomers geneticists "
        "pharmacists paramedics midwives oncologists cardiologists neurologists dentists radiologists "
        "therapists pathologists botanists",
        "vaccinate diagnose sequence inoculate quarantine sterilise transplant synthesise culture dissect "
        "immunise resuscitate",
        "vaccines antibodies enzymes genomes proteins microbes pathogens neurons tumours telescopes "
        "asteroids fossils",
    ),
    "immigration": (
        "migrants refugees asylees deportees smugglers traffickers caseworkers interpreters sponsors "
        "naturalisers guestworkers seasonals stowaways overstayers detainees returnees claimants "
        "applicants resettlers newcomers",
        "deport naturalise detain resettle expel repatriate sponsor admit vet fingerprint process intern",
        "passports visas permits waivers checkpoints fences detentions hearings appeals caravans "
        "quotas amnesties",
    ),
    "energy-climate": (
        "drillers frackers miners refiners meteorologists glaciologists climatologists foresters "
        "conservationists ecologists hydrologists oceanographers linemen utilities turbines pipelines "
        "reactors smelters rigs windfarms",
        "drill frack refine mine electrify decarbonise insulate retrofit reforest irrigate desalinate "
        "flare",
        "pipelines reactors turbines glaciers wildfires droughts monsoons hurricanes emissions coal "
        "lithium hydrogen",
    ),
    "law-courts": (
        "judges jurors prosecutors defendants plaintiffs barristers solicitors attorneys magistrates "
        "bailiffs clerks witnesses appellants litigants paralegals coroners wardens inmates parolees "
        "sheriffs",
        "indict acquit convict sentence appeal overturn testify subpoena depose arraign extradite "
        "prosecute",
        "verdicts indictments injunctions warrants affidavits subpoenas pleas lawsuits appeals "
        "sentences bail parole",
    ),
    "elections": (
        "voters candidates incumbents challengers canvassers campaigners electors returners scrutineers "
        "registrars frontrunners underdogs runners nominees tellers delegates superdelegates "
        "psephologists constituents abstainers",
        "canvass campaign tally recount concede nominate poll vote endorse register mobilise gerrymander",
        "ballots manifestos precincts polls recounts runoffs referendums primaries turnouts landslides "
        "constituencies mandates",
    ),
    "sports": (
        "strikers goalkeepers defenders midfielders sprinters marathoners swimmers gymnasts boxers "
        "wrestlers jockeys cyclists rowers skaters skiers golfers batsmen bowlers pitchers quarterbacks",
        "score dribble tackle sprint qualify relegate promote clinch equalise volley serve bowl",
        "trophies medals titles pennants playoffs derbies semifinals finals tournaments records "
        "hattricks penalties",
    ),
    "culture": (
        "novelists painters sculptors poets composers choreographers dancers actors actresses directors "
        "playwrights curators filmmakers photographers musicians singers rappers cellists violinists "
        "pianists",
        "premiere exhibit curate compose choreograph stage screen publish perform record tour remaster",
        "novels symphonies operas ballets sculptures murals exhibitions albums sonatas frescoes "
        "memoirs documentaries",
    ),
}

# Two hundred cities, shared by every topic: a place is in about one headline in two hundred.
_PLACE_NAMES = """
Aberdeen Accra Adelaide Agadir Aleppo Algiers Almaty Amman Amsterdam Ankara Antwerp Asmara Astana Asuncion
Athens Auckland Baghdad Baku Bamako Bangalore Bangkok Banjul Barcelona Basra Beirut Belfast Belgrade Bergen
Berlin Bern Bilbao Birmingham Bishkek Bogota Bologna Bordeaux Boston Bratislava Brisbane Bristol Brno Brussels
Bucharest Budapest Cairo Calgary Cardiff Casablanca Chennai Chisinau Colombo Copenhagen Cordoba Cork Dakar
Dallas Damascus Davao Delhi Denver Dhaka Dodoma Doha Dresden Dubai Dublin Dundee Durban Edinburgh Erbil
Florence Fukuoka Gdansk Geneva Genoa Ghent Glasgow Gothenburg Graz Guadalajara Hamburg Hanoi Harare Havana
Helsinki Hobart Houston Hyderabad Ibadan Innsbruck Islamabad Istanbul Izmir Jakarta Jeddah Johannesburg Kabul
Kampala Karachi Kathmandu Kaunas Kazan Khartoum Kigali Kingston Kinshasa Kolkata Krakow Kyoto Lagos Lahore
Leeds Leipzig Lille Lima Limassol Lisbon Liverpool Ljubljana Lome Luanda Lusaka Luxembourg Lyon Madrid Malaga
Malmo Managua Manchester Manila Maputo Marseille Medellin Melbourne Memphis Milan Minsk Mombasa Montevideo
Montreal Mumbai Munich Muscat Nagoya Nairobi Nantes Naples Nicosia Odesa Osaka Oslo Ottawa Oulu Palermo Panama
Perth Porto Prague Pune Quito Rabat Recife Reykjavik Riga Rosario Rotterdam Salzburg Santiago Sapporo Sarajevo
Seville Shiraz Skopje Sofia Split Stockholm Stuttgart Suva Sydney Tallinn Tampere Tangier Tashkent Tbilisi
Tehran Tirana Toronto Toulouse Trieste Tripoli Tunis Turin Turku Utrecht Valencia Valletta Vilnius Warsaw
Winnipeg Wroclaw Yerevan Zagreb Zurich
"""
PLACES: tuple[str, ...] = tuple(_PLACE_NAMES.split())

# Sentences for summaries and bodies: the same words again with a few common ones around them.
SENTENCE_FORMS: tuple[str, ...] = (
    "Officials said the {subject} would {verb} the {object} in {place} this week.",
    "The {subject} in {place} said they had no plans to {verb} more {object}.",
    "Reports from {place} said the {object} were expected to arrive within days.",
    "It was not clear whether the {subject} would {verb} again before the weekend.",
)

# What the benchmark types, by shape: words of this vocabulary, common, rare and absent.
SEARCHES: dict[str, tuple[str, ...]] = {
    # in about one story in two (a summary's stock words), on every topic
    "common": ("officials", "weekend", "reports", "expected", "clear"),
    # a subject of one small topic: under one story in a hundred, on no other topic
    "rare": ("psephologists", "superdelegates", "cellists", "abstainers", "frescoes", "sonatas"),
    # no story has these
    "absent": ("chips", "zeppelin", "quokka", "marzipan", "typewriter", "origami"),
    # two words that meet in many stories, two of one topic, two of different topics that (almost) never
    # meet, and a word with a place (a place is in about one story in fifty)
    "words": ("officials said", "strikers trophies", "chipmakers servers", "strikers servers",
              "voters Reykjavik", "judges ballots"),
    "phrase": ('"officials said"', '"no plans"', '"strikers score"', '"judges overturn"'),
    "prefix": ("striker*", "server*", "vaccine*", "tariff*", "ballot*"),
}
