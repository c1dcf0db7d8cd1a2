"""Slot fillers for ``make_isaf_sample.py``: places, invented people, roles and phrases.

Districts and provinces are real geography (so a location reads plausibly); every person,
village name and sentence here is invented for fieldwise. Phrases that fill the
"background" and "details" slots never name a group or a count of people, so the labels a
template sets stay true whatever filler is drawn.
"""

from __future__ import annotations

# fmt: off

TITLES = ["Mullah", "Qari", "Mawlawi", "Haji", "Mullah", "Qari", "Sayed"]
FIRST_NAMES = [
    "Abdul Wadud", "Gul Rahman", "Sher Ahmad", "Noor Agha", "Zahir Shah", "Faizullah",
    "Rahmatullah", "Saifuddin", "Abdul Basir", "Khan Mir", "Habibullah", "Nazir Gul",
    "Jan Agha", "Sayed Akbar", "Mir Hamza", "Shir Dil", "Abdul Manan", "Obaidullah",
    "Toor Jan", "Zainullah", "Wali Dad", "Qudratullah", "Amanullah", "Sardar Khan",
]
LAST_NAMES = [
    "Akhund", "Mohmand", "Zadran", "Kakar", "Achakzai", "Ahmadzai", "Sabari", "Noorzai",
    "Tokhi", "Hotak", "Andar", "Shinwari", "Safi", "Mangal", "Jadran", "Alizai", "Popal",
    "Barakzai", "Ishaqzai", "Uzbekyar", "Wardaki", "Niazi", "Hanafi", "Rahimi",
]
FORCES = [
    "An Afghan and coalition security force",
    "A combined Afghan and coalition security force",
    "Afghan and coalition forces",
    "An Afghan-led security force",
    "Afghan National Security Forces, supported by coalition troops,",
    "An Afghan National Army commando unit, partnered with coalition forces,",
    "A joint Afghan and coalition security force",
    "An Afghan Provincial Response Company, advised by coalition forces,",
    "Afghan National Police and coalition forces",
    "An Afghan special police unit, with coalition advisers,",
]

# Weights follow the rough regional spread of published releases (south and east heavy).
PROVINCE_WEIGHTS = {
    "helmand": 96, "kandahar": 88, "khost": 68, "logar": 36, "paktya": 35, "ghazni": 28,
    "nangarhar": 25, "zabul": 24, "wardak": 23, "paktika": 22, "kunar": 21, "kunduz": 18,
    "baghlan": 14, "uruzgan": 11, "kabul": 10, "balkh": 9, "farah": 6, "laghman": 6,
    "kapisa": 5, "faryab": 5, "takhar": 5, "sar_e_pul": 4, "badghis": 3, "nimroz": 3,
    "badakhshan": 2, "samangan": 2, "herat": 2, "jowzjan": 2, "nuristan": 2, "parwan": 2,
    "ghor": 1, "day_kundi": 1,
}
PROVINCE_NAMES = {
    "paktya": ["Paktiya", "Paktiya", "Paktya"],
    "sar_e_pul": ["Sar-e Pul"],
    "day_kundi": ["Daykundi"],
    "uruzgan": ["Uruzgan", "Uruzgan", "Oruzgan"],
}
DISTRICTS = {
    "helmand": ["Nad-e Ali", "Nahr-e Saraj", "Sangin", "Musa Qal'ah", "Marjah", "Garmsir",
                "Nawa-ye Barakzai", "Kajaki", "Washir", "Lashkar Gah", "Now Zad"],
    "kandahar": ["Panjwa'i", "Zharay", "Arghandab", "Maiwand", "Shah Wali Kot", "Spin Boldak",
                 "Daman", "Khakrez", "Arghistan"],
    "khost": ["Sabari", "Nadir Shah Kot", "Tani", "Musa Khel", "Terayzai", "Spera", "Gurbuz",
              "Bak", "Mando Zayi", "Qalandar"],
    "paktya": ["Zurmat", "Ahmad Aba", "Sayyid Karam", "Dand wa Patan", "Jaji", "Gardez",
               "Shwak", "Chamkani"],
    "paktika": ["Barmal", "Orgun", "Sar Hawza", "Yahya Khel", "Mata Khan", "Yosef Khel",
                "Sharan", "Gomal"],
    "logar": ["Baraki Barak", "Pul-e Alam", "Charkh", "Muhammad Aghah", "Azrah", "Khoshi"],
    "ghazni": ["Andar", "Qarah Bagh", "Deh Yak", "Ab Band", "Giro", "Waghaz", "Gelan",
               "Jaghatu"],
    "wardak": ["Sayyidabad", "Nerkh", "Chak", "Jalrez", "Day Mirdad", "Maidan Shahr"],
    "nangarhar": ["Sherzad", "Khogyani", "Pachir wa Agam", "Surkh Rod", "Bati Kot",
                  "Chaparhar", "Achin", "Hisarak"],
    "kunar": ["Asadabad", "Chawkay", "Dangam", "Marawarah", "Watahpur", "Sarkani",
              "Khas Kunar", "Pech"],
    "kunduz": ["Chahar Darah", "Imam Sahib", "Dasht-e Archi", "Aliabad", "Khanabad"],
    "baghlan": ["Baghlan-e Jadid", "Pul-e Khumri", "Burkah", "Dahanah-ye Ghori", "Nahrin"],
    "zabul": ["Qalat", "Shah Joy", "Shinkai", "Mizan", "Tarnak wa Jaldak"],
    "uruzgan": ["Tarin Kowt", "Deh Rawud", "Chorah", "Khas Uruzgan", "Shahid-e Hasas"],
    "kabul": ["Surobi", "Musahi", "Paghman", "Chahar Asyab", "Bagrami"],
    "balkh": ["Chahar Bolak", "Chimtal", "Dawlatabad", "Balkh", "Nahr-e Shahi"],
    "farah": ["Bala Baluk", "Bakwah", "Pusht Rod", "Khak-e Safed", "Gulistan"],
    "laghman": ["Alingar", "Alishing", "Qarghah'i", "Mehtar Lam"],
    "kapisa": ["Tagab", "Nijrab", "Alasay"],
    "faryab": ["Qaisar", "Almar", "Shirin Tagab", "Pashtun Kot"],
    "takhar": ["Taloqan", "Khwajah Ghar", "Eshkamesh"],
    "sar_e_pul": ["Sayyad", "Sancharak", "Sar-e Pul"],
    "badghis": ["Ab Kamari", "Qal'ah-ye Now", "Murghab"],
    "nimroz": ["Khash Rod", "Delaram", "Chakhansur"],
    "badakhshan": ["Jurm", "Warduj", "Baharak"],
    "samangan": ["Dara-ye Suf", "Aybak"],
    "herat": ["Shindand", "Adraskan", "Guzarah"],
    "jowzjan": ["Qush Tepa", "Aqchah"],
    "nuristan": ["Waygal", "Du Ab"],
    "parwan": ["Siah Gird", "Shinwari"],
    "ghor": ["Shahrak", "Pasaband"],
    "day_kundi": ["Kajran", "Khedir"],
}
REGIONS = {
    "southern": ["helmand", "kandahar", "zabul", "uruzgan", "nimroz", "day_kundi"],
    "eastern": ["khost", "paktya", "paktika", "logar", "ghazni", "wardak", "nangarhar", "kunar",
                "laghman", "kapisa", "kabul", "nuristan", "parwan"],
    "northern": ["kunduz", "baghlan", "balkh", "faryab", "takhar", "sar_e_pul", "samangan",
                 "jowzjan", "badakhshan"],
    "western": ["herat", "farah", "badghis", "ghor"],
}

# fmt: on
_HAQQANI = {"khost", "paktya", "paktika", "logar", "wardak", "ghazni", "kabul"}
_NORTH = set(REGIONS["northern"])
_HIG = {"kunar", "nangarhar", "laghman", "kapisa", "baghlan", "kabul"}
_AQ = {"kunar", "nuristan", "paktika", "khost", "nangarhar"}


def GROUP_BY_PROVINCE(prov: str) -> dict[str, int]:  # noqa: N802 - reads like a table
    """Weights of group keys ("" = none named; "a+b" = two groups) for a province."""
    weights = {"taliban": 55, "": 12}
    if prov in _HAQQANI:
        weights["haqqani"] = 45
    if prov in _NORTH:
        weights["imu"] = 25
    if prov in _HIG:
        weights["hig"] = 8
    if prov in _AQ:
        weights["aq"] = 4
        weights["aq+taliban"] = 3
    if prov in {"kunar", "nuristan", "nangarhar"}:
        weights["let+taliban"] = 6
    if prov in {"kunduz", "takhar", "baghlan"}:
        weights["imu+taliban"] = 4
    return weights


# fmt: off
ROLES: dict[str, dict[str, list[str]]] = {
    "taliban": {
        "leader": ["Taliban leader", "senior Taliban leader", "Taliban sub-commander",
                   "Taliban commander", "Taliban shadow district governor for {district}",
                   "Taliban deputy shadow governor for {prov}", "Taliban cell leader"],
        "facilitator": ["Taliban facilitator", "Taliban weapons facilitator",
                        "Taliban IED facilitator", "Taliban financial facilitator"],
    },
    "haqqani": {
        "leader": ["Haqqani network leader", "senior Haqqani commander", "Haqqani sub-commander"],
        "facilitator": ["Haqqani network facilitator", "Haqqani suicide-bomber facilitator"],
    },
    "imu": {
        "leader": ["Islamic Movement of Uzbekistan leader", "senior IMU leader"],
        "facilitator": ["Islamic Movement of Uzbekistan facilitator", "IMU weapons facilitator"],
    },
    "hig": {
        "leader": ["Hezb-e Islami Gulbuddin commander", "HIG sub-commander"],
        "facilitator": ["Hezb-e Islami Gulbuddin facilitator"],
    },
    "aq": {
        "leader": ["al Qaeda senior leader", "al Qaeda leader"],
        "facilitator": ["al Qaeda facilitator", "al Qaeda weapons facilitator"],
    },
    "aq+taliban": {
        "leader": ["Taliban commander with close ties to al Qaeda",
                   "al Qaeda-linked Taliban leader"],
        "facilitator": ["Taliban facilitator who moves fighters for al Qaeda"],
    },
    "let+taliban": {
        "leader": ["Taliban leader who works with Lashkar-e-Tayyiba fighters"],
        "facilitator": ["Taliban facilitator with ties to Lashkar-e-Tayyiba"],
    },
    "imu+taliban": {
        "leader": ["Taliban commander allied with the Islamic Movement of Uzbekistan"],
        "facilitator": ["Taliban facilitator who supplies IMU fighters"],
    },
    "": {
        "leader": ["insurgent leader", "senior insurgent leader", "local insurgent commander",
                   "bomb-making cell leader"],
        "facilitator": ["insurgent facilitator", "insurgent weapons facilitator",
                        "foreign-fighter facilitator"],
    },
}

ACTIVITIES = [
    "is responsible for coordinating roadside bomb attacks against Afghan and coalition forces",
    "supplies weapons and explosives to fighters operating in the area",
    "directs attacks on Afghan National Army outposts in the district",
    "collects illegal taxes from local farmers to pay fighters",
    "organizes suicide attacks against Afghan checkpoints",
    "moves foreign fighters across the border into the province",
    "builds and places improvised explosive devices along the main highway",
    "intimidates local elders who cooperate with the provincial government",
    "plans rocket attacks against district centers",
    "reportedly ordered the kidnapping of a local road contractor",
    "buys ammunition and distributes it to insurgent cells",
    "trains new recruits in the use of homemade explosives",
    "was linked to a recent attack on a girls' school",
    "provides safe houses for fighters traveling through the area",
]
OP_DETAILS = [
    "Intelligence reports led the force to a compound near the village of {village}.",
    "Acting on a tip from local residents, the force surrounded a group of buildings in "
    "{district} district.",
    "Afghan forces called for the occupants to exit the buildings peacefully before the "
    "search began.",
    "After initial questioning at the scene, the force identified the individuals for "
    "further questioning.",
    "The operation was planned and led by Afghan forces.",
    "The force searched the compound after securing the surrounding area.",
    "Follow-on reporting had placed the targeted individual in {village} in recent days.",
]
CACHES = [
    "two AK-47 rifles, a pistol and several full magazines",
    "40 kilograms of homemade explosives",
    "a pressure plate and three bags of ammonium nitrate",
    "a rocket-propelled grenade launcher with four rounds",
    "bomb-making materials and a number of blasting caps",
    "a machine gun, ammunition and two radios",
    "several hand grenades and a suicide vest",
    "two 82 mm mortar rounds and a quantity of detonation cord",
    "a large amount of opium and two rifles",
    "more than 100 rounds of ammunition",
]
VILLAGES = [
    "Kalay-e Sharif", "Deh-e Nawab", "Qal'a-ye Gul", "Karez-e Bala", "Shinghar Kalay",
    "Now Abad", "Sra Kala", "Tor Ghar", "Loy Karez", "Sur Khel", "Gul Bagh", "Babar Kalay",
    "Zangi Abad", "Mirza Khel", "Chenar", "Spina Kalay", "Pir Zada", "Ghundey",
]
# fmt: on
