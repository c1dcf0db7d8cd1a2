"""Hand-written irregular releases for the ISAF sample, each labelled by hand.

These cover what templates do badly: long stories, corrections, mixed incidents, rare
groups, quantities such as "dozens" or "a handful", and dates given outright or as a
weekday several days back. Everything here is invented for fieldwise.
"""

from __future__ import annotations

from typing import Any


def hw(
    text: str,
    name: str,
    start_date: str,
    event_type: list[str],
    province: list[str],
    target_group: list[str],
    *,
    killed: int = 0,
    captured: int = 0,
    leaders_killed: int = 0,
    leaders_captured: int = 0,
    kcr: bool = False,
    air: bool = False,
    nsf: bool = False,
) -> dict[str, Any]:
    """One canonical row; ``killq``/``captureq`` follow from the counts."""
    return {
        "text": text,
        "name": name,
        "start_date": start_date,
        "event_type": event_type,
        "province": province,
        "target_group": target_group,
        "min_killed": killed,
        "min_captured": captured,
        "killq": killed > 0,
        "captureq": captured > 0,
        "killcaptureraid": kcr,
        "airstrike": air,
        "noshotsfired": nsf,
        "min_leaders_killed": leaders_killed,
        "min_leaders_captured": leaders_captured,
    }


HANDWRITTEN: list[dict[str, Any]] = [
    hw(
        "Afghan Forces Clear Insurgent Stronghold in Arghandab\n"
        "ISAF Joint Command - Afghanistan 2010-09-CA-131 For Immediate Release   "
        "KANDAHAR, Afghanistan (Sept. 14, 2010) - A three-day clearing operation by Afghan "
        "National Army soldiers and their coalition partners in Arghandab district, Kandahar "
        "province, ended yesterday after the force pushed Taliban fighters out of a string of "
        "orchards north of the district center.   The operation began Saturday. Commanders on "
        "the ground said dozens of insurgents were killed during three days of heavy fighting, "
        "and a large number of suspected insurgents were detained at checkpoints set up around "
        "the area.   Engineers cleared more than 40 roadside bombs from footpaths and canal "
        "crossings. Two Afghan soldiers were wounded and are in stable condition.",
        "Clearing operation in Arghandab",
        "2010-09-11",
        ["insurgentskilled", "detention"],
        ["kandahar"],
        ["taliban"],
        killed=24,
        captured=5,
    ),
    hw(
        "ISAF Confirms Death of al Qaeda Leader in Nuristan\n\n"
        "ISAF Joint Command - Afghanistan\n2011-08-S-019\nFor Immediate Release\n\n"
        "KABUL, Afghanistan (Aug. 4, 2011)\n"
        "ISAF has confirmed that Abdul Qahar Tajwar, a senior al Qaeda leader who "
        "directed foreign fighters in eastern Afghanistan, was killed in a precision air "
        "strike in Waygal district, Nuristan province, Monday.\n\n"
        "Follow-on reporting indicates two of his bodyguards also died in the strike. The "
        "strike was conducted after coalition aircraft tracked the leader to an isolated "
        "hillside position away from any village.\n\n"
        "He had been responsible for moving money and recruits across the border.",
        "Al Qaeda leader killed in Nuristan air strike",
        "2011-08-01",
        ["airstrike"],
        ["nuristan"],
        ["aq"],
        killed=3,
        leaders_killed=1,
        air=True,
    ),
    hw(
        "2012-01-S-044\nFor Immediate Release\n\nKABUL, Afghanistan (Jan. 11, 2012) – On the "
        "night of Jan. 9, an Afghan and coalition security force searching for a Haqqani "
        "network commander in Barmal district, Paktika province, came under fire from a "
        "walled compound. The force returned fire and killed the commander, Mawlawi Sardar "
        "Khan Zadran.\nThe commander ran a network of fighters who attacked border outposts "
        "with rockets and mortars. After the compound was secured, seven suspected insurgents "
        "were detained and the force destroyed a stockpile of rockets.",
        "Haqqani commander killed, seven detained in Paktika",
        "2012-01-09",
        ["captureandkill"],
        ["paktika"],
        ["haqqani"],
        killed=1,
        captured=7,
        leaders_killed=1,
        kcr=True,
    ),
    hw(
        "ISAF Regrets Civilian Deaths in Kunar\n"
        "ISAF Joint Command - Afghanistan 2010-05-CA-212 For Immediate Release Download PDF   "
        "KABUL, Afghanistan (May 27) - ISAF regrets the deaths of three Afghan civilians in "
        "Chawkay district, Kunar province, last Monday, when a mortar round fired during a "
        "fight with insurgents fell short of its target and struck a house.   A joint team "
        "of Afghan and coalition officials visited the village and met with elders and the "
        "families. ISAF has opened an investigation into the incident.",
        "ISAF regrets civilian deaths in Kunar",
        "2010-05-24",
        ["civiliancasualty"],
        ["kunar"],
        [""],
        killed=3,
    ),
    hw(
        "Police Find Weapons Cache, Detain Four in Faryab\n\n"
        "ISAF Joint Command - Afghanistan\n2011-03-S-071\nFor Immediate Release\n\n"
        "KABUL, Afghanistan (March 17, 2011)\nAfghan Uniformed Police, with coalition "
        "mentors, found a large weapons cache buried under a cattle shed in Qaisar district, "
        "Faryab province, Tuesday. Four men who were guarding the site were detained.\n\n"
        "The cache included 12 rocket-propelled grenades, three machine guns and more than "
        "2,000 rounds of ammunition. No shots were fired. The weapons were turned over to the "
        "provincial police headquarters.",
        "Police find cache, detain four in Faryab",
        "2011-03-15",
        ["detention"],
        ["faryab"],
        [""],
        captured=4,
        nsf=True,
    ),
    hw(
        "ISAF Joint Command Morning Operational Update Oct. 22, 2011\nISAF Joint Command - "
        "Afghanistan 2011-10-S-088 For Immediate Release  KABUL, Afghanistan (Oct. 22, 2011)  "
        "A combined Afghan and coalition security force detained a Lashkar-e-Tayyiba "
        "facilitator and a couple of his associates in Watahpur district, Kunar province, "
        "yesterday. The facilitator brings foreign fighters from across the border and "
        "arranges their housing and weapons.  Intelligence tips led the force to a house on "
        "the edge of the village, where the men were found hiding in a storage room.",
        "LeT facilitator detained in Kunar",
        "2011-10-21",
        ["detention"],
        ["kunar"],
        ["let"],
        captured=3,
        kcr=True,
    ),
    hw(
        "IMU Commander Killed in Kunduz\n"
        "ISAF Joint Command - Afghanistan\n2012-07-S-003\nFor Immediate Release\n\n"
        "KABUL, Afghanistan (July 2, 2012)\n"
        "An Afghan-led security force killed an Islamic Movement of Uzbekistan commander and "
        "one of his fighters during an operation in Chahar Darah district, Kunduz province, "
        "Saturday.\n"
        "When the two men fired on the force from a rooftop, an air weapons team overhead "
        "engaged them. The force then searched the surrounding compounds and detained "
        "numerous suspected insurgents.\n"
        "The commander had organized attacks on Afghan Local Police posts in the district.",
        "IMU commander killed in Kunduz",
        "2012-06-30",
        ["captureandkill"],
        ["kunduz"],
        ["imu"],
        killed=2,
        captured=4,
        leaders_killed=1,
        kcr=True,
    ),
    hw(
        "ISAF Joint Command - Afghanistan 2010-12-CA-049 For Immediate Release   KABUL, "
        "Afghanistan (Dec. 9) — A Hezb-e Islami Gulbuddin sub-commander and his brother were "
        "detained without a shot being fired in Tagab district, Kapisa province, Sunday.   "
        "The sub-commander had led a cell that fired rockets at the district center and "
        "planted bombs on the main road to Kabul.   Afghan soldiers called the occupants out "
        "of the house and searched it while coalition troops secured the perimeter.",
        "HIG sub-commander detained in Kapisa",
        "2010-12-05",
        ["detention"],
        ["kapisa"],
        ["hig"],
        captured=2,
        leaders_captured=1,
        kcr=True,
        nsf=True,
    ),
    hw(
        "Air Strike Kills Taliban Shadow Governor in Helmand\n\n"
        "ISAF Joint Command - Afghanistan\n2011-06-S-301\nFor Immediate Release\n\n"
        "KABUL, Afghanistan (June 30, 2011)\n"
        "Coalition aircraft killed the Taliban shadow governor for Now Zad district, Mullah "
        "Toor Jan Ishaqzai, during an operation to capture him in Helmand province yesterday. "
        "His facilitator and two fighters were also killed.\n\n"
        "The security force had tried to reach the compound on foot but came under "
        "machine-gun fire and called for the strike. No civilians were in the building.",
        "Taliban shadow governor killed in Helmand",
        "2011-06-29",
        ["airstrike"],
        ["helmand"],
        ["taliban"],
        killed=4,
        leaders_killed=1,
        kcr=True,
        air=True,
    ),
    hw(
        "Nov. 19: Insurgents Detained in Zabul\n\nNEWS RELEASE ISAF Joint Command - "
        "Afghanistan  2009-11-CA-073 For Immediate Release  KABUL, Afghanistan (Nov. 19) - "
        "Afghan and international forces searching for a Taliban IED cell leader in Shah Joy "
        "district, Zabul province, detained three militants, one of them wounded, after a "
        "brief exchange of fire Tuesday.  The wounded man was treated by a coalition medic "
        "and taken to a nearby base. The cell leader was not found.",
        "Insurgents detained in Zabul",
        "2009-11-17",
        ["detention", "exchangeoffire"],
        ["zabul"],
        ["taliban"],
        captured=3,
        kcr=True,
    ),
    hw(
        "2013-04-S-011\n\nKABUL, Afghanistan (April 6, 2013)\nAn Afghan-led force arrested a "
        "Taliban leader in Zharay district, Kandahar province, Friday.",
        "Taliban leader arrested in Kandahar",
        "2013-04-05",
        ["detention"],
        ["kandahar"],
        ["taliban"],
        captured=1,
        leaders_captured=1,
        kcr=True,
    ),
    hw(
        "Three Taliban Facilitators Detained in Logar\n"
        "ISAF Joint Command - Afghanistan 2012-09-S-061 For Immediate Release   KABUL, "
        "Afghanistan (Sept. 25, 2012) – Afghan special police, advised by coalition forces, "
        "detained three Taliban facilitators in Baraki Barak district, Logar province, last "
        "Friday. The three men bought explosives in Pakistan and delivered them to bomb "
        "makers working for a senior Taliban leader in the province. The force did not fire "
        "their weapons.",
        "Three Taliban facilitators detained in Logar",
        "2012-09-21",
        ["detention"],
        ["logar"],
        ["taliban"],
        captured=3,
        kcr=True,
        nsf=True,
    ),
    hw(
        "ISAF Joint Command - Afghanistan\n2011-02-S-040\nFor Immediate Release\n\n"
        "KABUL, Afghanistan (Feb. 14, 2011)\nAfghan and coalition forces detained a handful "
        "of suspected insurgents in Chimtal district, Balkh province, yesterday, while "
        "looking for an Islamic Movement of Uzbekistan facilitator who smuggles weapons "
        "from the north. The facilitator was not among those detained.",
        "Suspected insurgents detained in Balkh",
        "2011-02-13",
        ["detention"],
        ["balkh"],
        ["imu"],
        captured=4,
        kcr=True,
    ),
    hw(
        "ISAF Joint Command Evening Operational Update Aug. 8, 2010\nISAF Joint Command - "
        "Afghanistan 2010-08-CA-104 For Immediate Release  KABUL, Afghanistan (Aug. 8, 2010)  "
        "In Ghazni province, a coalition aircraft struck a small group of insurgents who were "
        "burying a bomb on a road in Andar district yesterday, killing all of them. The "
        "strike was called in by an Afghan army patrol that had been watching the road.  In a "
        "separate operation yesterday, an Afghan and coalition security force in search of a "
        "Taliban sub-commander detained two suspected insurgents in Qarah Bagh district, "
        "Ghazni province.",
        "Air strike and detentions in Ghazni",
        "2010-08-07",
        ["airstrike", "detention"],
        ["ghazni"],
        ["taliban"],
        killed=3,
        captured=2,
        kcr=True,
        air=True,
    ),
    hw(
        "Suspected Insurgents Detained in Uruzgan\n\nISAF Joint Command - Afghanistan\n"
        "2012-04-S-077\nFor Immediate Release\n\nKABUL, Afghanistan (April 20, 2012)\n"
        "Afghan National Army soldiers, mentored by coalition troops, detained a couple of "
        "suspected insurgents during an operation in search of a Taliban financier in Chorah "
        "district, Uruzgan province, Wednesday.\nThe operation was conducted with no shots "
        "fired.",
        "Two detained in Uruzgan",
        "2012-04-18",
        ["detention"],
        ["uruzgan"],
        ["taliban"],
        captured=2,
        kcr=True,
        nsf=True,
    ),
    hw(
        "Border Post Attack Repelled in Farah\n"
        "ISAF Joint Command - Afghanistan\n2011-12-S-010\nFor Immediate Release\n\n"
        "KABUL, Afghanistan (Dec. 5, 2011)\n"
        "Afghan Border Police, with help from coalition forces, repelled an attack on a "
        "border post in Khak-e Safed district, Farah province, last Thursday, killing a large "
        "number of the attackers.\n\nThe attack began shortly after midnight with "
        "rocket-propelled grenades and machine-gun fire. Two border policemen were wounded.",
        "Attack on border post repelled in Farah",
        "2011-12-01",
        ["insurgentskilled"],
        ["farah"],
        [""],
        killed=5,
    ),
    hw(
        "2013-02-S-019\nFor Immediate Release\n\nKABUL, Afghanistan (Feb. 12, 2013) – An "
        "Afghan and coalition security force detained some suspected insurgents while "
        "looking for a Taliban leader in Qalat district, Zabul province, Saturday. The "
        "leader is believed to command about 40 fighters. No shots were fired during the "
        "search.",
        "Suspected insurgents detained in Zabul",
        "2013-02-09",
        ["detention"],
        ["zabul"],
        ["taliban"],
        captured=3,
        kcr=True,
        nsf=True,
    ),
    hw(
        "ISAF Joint Command - Afghanistan 2010-03-CA-151 For Immediate Release   KABUL, "
        "Afghanistan (March 23) - A coalition patrol in Marjah, Helmand province, came "
        "under attack from Taliban fighters last Friday. The patrol killed two insurgents in "
        "the firefight; a woman in a nearby field was also killed in the crossfire.   ISAF "
        "officials met with the woman's family and the district governor.",
        "Two insurgents and a civilian killed in Helmand",
        "2010-03-19",
        ["insurgentskilled", "civiliancasualty"],
        ["helmand"],
        ["taliban"],
        killed=3,
    ),
    hw(
        "Haqqani Facilitator Killed in Logar\n\nISAF Joint Command - Afghanistan\n"
        "2011-07-S-052\nFor Immediate Release\n\nKABUL, Afghanistan (July 19, 2011)\nAn "
        "Afghan and coalition security force killed a Haqqani network facilitator in Pul-e "
        "Alam district, Logar province, on Sunday. The facilitator, who supplied car bombs "
        "to Haqqani cells operating near Kabul, reached for a weapon as the force entered "
        "his compound.",
        "Haqqani facilitator killed in Logar",
        "2011-07-17",
        ["insurgentskilled"],
        ["logar"],
        ["haqqani"],
        killed=1,
        kcr=True,
    ),
]
