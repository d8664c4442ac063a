"""Calibration of the synthetic warehouse, in one place.

Tags: [S] read in a public source, [C] computed from sourced figures,
[I] a synthetic default chosen to land headline figures near the sourced ones. Anything [I] is
a knob, not a fact. Tests in tests/synth/test_calibration.py check the resulting headline
figures against the sourced ranges.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- demography --------------------------------------------------------------------------
BIRTH_RATE = 0.0100  # [C] ~115k births / 11.7M inhabitants
POPULATION_REFERENCE_YEAR = 2021  # age-sex structure by region [S] Statbel (reference_data)
OLDEST_AGE = 104

# Gompertz mortality q(age) = exp(A + B*age) [I], close to Belgian life tables (q80 ~ 4.5%).
MORTALITY_A = -10.55  # crude death rate ~10 per 1,000 with the frailty spread
MORTALITY_B = 0.094
INFANT_MORTALITY = 0.0035
MORTALITY_FRAILTY = 0.35  # log-hazard per SD of the morbidity propensity [I]
DEATH_IN_HOSPITAL_SHARE = 0.5  # [I] about half of deaths occur in hospital

# --- regional variation ------------------------------------------------------------------
# Genuine differences that survive age-sex standardisation: log-multiplier on morbidity and
# care use [I]; planted so indicators can be checked to find them.
ARR_HEALTH_EFFECT = {
    "52000": 0.25,  # Charleroi
    "53000": 0.20,  # Mons / Bergen
    "58000": 0.20,  # La Louvière
    "62000": 0.15,  # Liège
    "57000": 0.10,  # Tournai-Mouscron
    "21000": 0.05,  # Brussels
    "24000": -0.20,  # Leuven
    "25000": -0.15,  # Nivelles / Nijvel
    "23000": -0.10,  # Halle-Vilvoorde
    "13000": -0.10,  # Turnhout
}
# Differences in age structure only (no health effect): tilt of the age distribution [I].
# Weight of an age band is multiplied by exp(tilt * (age - 40) / 40).
ARR_AGE_TILT = {
    "38000": 0.60,  # Veurne (coast: old)
    "35000": 0.45,  # Oostende (coast: old)
    "31000": 0.20,  # Brugge
    "84000": 0.15,  # Neufchâteau
    "21000": -0.35,  # Brussels (young)
    "24000": -0.15,  # Leuven (students)
}

# --- socio-economic and enrolment --------------------------------------------------------
BIM_SHARE_BY_REGION = {"02000": 0.156, "03000": 0.212, "04000": 0.316}  # [S] 2021
BIM_AGE_FACTOR = [(0, 18, 1.10), (18, 65, 0.85), (65, 80, 1.20), (80, 200, 1.60)]  # [I]
BIM_BENEFIT_SHARE = 0.55  # [I] BIM on a social benefit vs income test
MEDICAL_HOUSE_BY_REGION = {"02000": 0.040, "03000": 0.050, "04000": 0.085}  # [I] BE 4.7% [S]
INSURERS_BY_REGION = {  # [I] market shares; codes [I]
    "02000": [
        ("100", 0.47),
        ("300", 0.20),
        ("500", 0.14),
        ("400", 0.07),
        ("200", 0.07),
        ("600", 0.03),
        ("900", 0.02),
    ],
    "03000": [
        ("100", 0.30),
        ("300", 0.38),
        ("500", 0.16),
        ("400", 0.06),
        ("200", 0.05),
        ("600", 0.04),
        ("900", 0.01),
    ],
    "04000": [
        ("100", 0.22),
        ("300", 0.27),
        ("500", 0.27),
        ("400", 0.07),
        ("200", 0.06),
        ("600", 0.10),
        ("900", 0.01),
    ],
}
GMD_BASE = 0.62  # [I] logistic intercept pieces chosen for ~78% GMD coverage
GMD_AGE_SLOPE = 0.035

# Nursing home residence: logistic(A + B*age) [I]; ~ 5% of 65+, 15% at 85.
NURSING_HOME_A = -12.4
NURSING_HOME_B = 0.125


@dataclass(frozen=True)
class Condition:
    """A drug-treated chronic condition: prevalence logistic in age, persistent per person.

    A person has it in a year when their persistent uniform is below p(age): p grows with age,
    so once treated a person stays treated (a diabetic stays diabetic).
    """

    name: str
    a: float  # logistic intercept
    b: float  # logistic slope per year of age
    min_age: int = 0
    female: float = 1.0  # prevalence multiplier for women
    male: float = 1.0
    cap: float = 0.6
    drugs: tuple[tuple[str, float], ...] = ()  # (ATC5, probability the person takes it)


# [I] parameters; targets [S] diabetes 7.1% treated (2021), hypertension 24.6%,
# hypercholesterolaemia 16.2% (BCHI 2018); polypharmacy 13.5% emerges from these.
CONDITIONS: tuple[Condition, ...] = (
    Condition(
        "diabetes",
        -6.95,
        0.074,
        10,
        drugs=(
            ("A10BA02", 0.85),
            ("A10BK01", 0.30),
            ("A10BH01", 0.20),
            ("A10AE04", 0.18),
            ("A10BB09", 0.10),
        ),
    ),
    Condition(
        "hypertension",
        -5.7,
        0.080,
        25,
        drugs=(
            ("C09AA05", 0.60),
            ("C09CA01", 0.40),
            ("C08CA01", 0.50),
            ("C07AB07", 0.50),
            ("C03AA03", 0.30),
        ),
    ),
    Condition(
        "lipids", -5.3, 0.080, 30, drugs=(("C10AA05", 0.45), ("C10AA07", 0.35), ("C10AA01", 0.20))
    ),
    Condition(
        "heart_failure",
        -9.4,
        0.090,
        45,
        drugs=(("C03CA01", 0.80), ("B01AF02", 0.50), ("B01AF01", 0.30), ("C07AB07", 0.50)),
    ),
    Condition("cardiovascular", -6.7, 0.068, 40, drugs=(("B01AC06", 0.90),)),
    Condition("gastric", -4.4, 0.045, 18, drugs=(("A02BC02", 0.55), ("A02BC01", 0.45))),
    Condition(
        "airways", -3.4, 0.020, 3, drugs=(("R03AK06", 0.55), ("R03BB04", 0.30), ("R03AC02", 0.60))
    ),
    Condition(
        "depression",
        -2.75,
        0.016,
        15,
        female=1.45,
        male=0.65,
        drugs=(("N06AB10", 0.40), ("N06AB04", 0.25), ("N06AX11", 0.25), ("N06AX16", 0.20)),
    ),
    Condition(
        "anxiety_sleep",
        -4.8,
        0.038,
        18,
        female=1.4,
        male=0.7,
        drugs=(("N05BA12", 0.35), ("N05CD06", 0.35), ("N05BA01", 0.20), ("N05CF01", 0.25)),
    ),
    Condition("psychosis", -5.2, 0.005, 16, drugs=(("N05AH04", 0.60), ("N05AX08", 0.40))),
    Condition("thyroid", -5.3, 0.040, 10, female=1.7, male=0.35, drugs=(("H03AA01", 1.0),)),
    Condition("epilepsy", -5.0, 0.005, 2, drugs=(("N03AX14", 1.0),)),
    Condition("parkinson", -12.0, 0.095, 50, drugs=(("N04BA02", 1.0),)),
    Condition("dementia", -12.3, 0.116, 60, drugs=(("N06DA02", 1.0),)),
    Condition("osteoporosis", -8.5, 0.075, 50, female=1.6, male=0.3, drugs=(("M05BA04", 1.0),)),
    Condition("gout", -7.6, 0.055, 35, female=0.3, male=1.6, drugs=(("M04AA01", 1.0),)),
    Condition("glaucoma", -8.6, 0.070, 40, drugs=(("S01ED01", 1.0),)),
    Condition("breast_cancer", -8.0, 0.050, 35, female=1.0, male=0.0, drugs=(("L02BA01", 1.0),)),
)
CONDITION_MORBIDITY_WEIGHT = 1.0  # log-odds per SD of morbidity propensity [I]

# Chronic medicine supplies: adherence in [ADHERENCE_MIN, 1] (share of the year covered) [I].
ADHERENCE_MIN = 0.55
CHRONIC_PACKAGE_SHIFT_DAYS = 4  # [I] people refill a few days early: supplies overlap

# --- acute medicines ---------------------------------------------------------------------
# (ATC5, yearly user probability by age band <15, 15-64, 65+, mean courses per user) [I]
# Antibiotics: ~40% of Belgians receive at least one course a year [I].
ACUTE_DRUGS = (
    ("J01CA04", (0.25, 0.16, 0.20), 1.4),
    ("J01CR02", (0.08, 0.10, 0.16), 1.3),
    ("J01FA10", (0.06, 0.06, 0.07), 1.2),
    ("J01MA02", (0.00, 0.04, 0.08), 1.2),
    ("M01AE01", (0.05, 0.14, 0.08), 1.5),
    ("N02AJ13", (0.00, 0.04, 0.07), 1.4),
    ("D07AC01", (0.05, 0.05, 0.05), 1.2),
)
CONTRACEPTIVE_WOMEN_15_49 = 0.30  # [I] G03AA07, monthly packs

# Flu vaccination of home-dwelling 65+ by region [S] (OZ members 2023: Fl 58%, Wal 46.1%, Bxl 44.4%).
FLU_65PLUS_BY_REGION = {"02000": 0.58, "03000": 0.461, "04000": 0.444}
FLU_UNDER65_CHRONIC = 0.25  # [I] risk groups under 65
FLU_UNDER65_OTHER = 0.04  # [I]
FLU_NURSING_HOME = 0.85  # [I]
FLU_PERSISTENCE = 0.85  # share of the draw that is the person's habit, not the year's [I]

# Breast screening: 2-year coverage of women 50-69 [S] Fl 68%, Bxl 53%, Wal 56% (2011-12).
BREAST_SCREENING_2Y_BY_REGION = {"02000": 0.68, "03000": 0.56, "04000": 0.53}
BREAST_SCREENING_DIAGNOSTIC_SHARE = 0.25  # [I] of screeners use a diagnostic mammogram

# --- GP and ambulatory care ----------------------------------------------------------------
# [S] 85% with >= 1 GP contact (2021), 6.1 contacts per patient; women 75+ ~ 11; Bxl 5.3.
GP_ANY_LOGIT_BY_AGE = [(0, 2.8), (5, 2.3), (15, 2.0), (25, 1.9), (45, 2.4), (65, 3.2), (75, 3.6)]
GP_COUNT_LOG_MEAN_BY_AGE = [
    (0, 1.65),
    (5, 1.30),
    (15, 1.40),
    (45, 1.65),
    (65, 1.85),
    (75, 2.05),
    (85, 2.25),
]
GP_COUNT_SIGMA = 0.6
GP_REGION_EFFECT = {"02000": 0.03, "03000": 0.0, "04000": -0.15}  # log-multiplier [I]
GP_HOME_VISIT_SHARE_BY_AGE = [(0, 0.02), (65, 0.12), (75, 0.30), (85, 0.55)]  # [I]
GP_FOLLOW_UP_AFTER_DISCHARGE_65 = 0.42  # extra GP contact 1-7 d after a classic discharge, 65+ [I]

# Other ambulatory services: (service group, P(any) young/adult/old, mean contacts per user) [I]
AMBULATORY = (
    ("specialist", (0.35, 0.50, 0.72), 3.0),
    ("dentist", (0.62, 0.52, 0.42), 2.2),
    ("physiotherapy", (0.04, 0.12, 0.22), 14.0),
    ("lab", (0.15, 0.45, 0.75), 2.5),
    ("imaging", (0.10, 0.25, 0.38), 1.6),
    ("emergency", (0.16, 0.12, 0.17), 1.2),
)
# Non-users: ~10-15% of people have no reimbursed care in a year [I]; healthy people without a
# treated condition, more often young adults, skip ambulatory care and acute medicines.
NON_USER_BY_AGE = [(0, 0.05), (5, 0.14), (18, 0.30), (45, 0.19), (65, 0.05)]
PSYCHIATRIST_ANY = 0.012  # [I] general population; x8 for depression/psychosis
HOME_NURSING_BY_AGE = [(0, 0.003), (65, 0.05), (75, 0.15), (85, 0.33)]  # P(any), home-dwelling [I]
HOME_NURSING_VISITS_LOG_MEAN = 4.0  # lognormal visits per user (median ~55) [I]

# --- hospital --------------------------------------------------------------------------------
# Yearly stays per person by age [I], calibrated on [S] ~55k stays / 100k incl. ambulatory ED,
# day stays > classic stays since 2013; classic ~45% of non-ED stays.
CLASSIC_RATE_BY_AGE = [
    (0, 0.14),
    (1, 0.04),
    (15, 0.06),
    (45, 0.10),
    (65, 0.22),
    (75, 0.36),
    (85, 0.50),
]
DAY_RATE_BY_AGE = [(0, 0.045), (15, 0.10), (45, 0.21), (65, 0.36), (75, 0.38), (85, 0.26)]
MATERNITY_RATE_WOMEN_20_44 = 0.045  # [C] ~115k births over ~2.5M women 20-44
HOSPITAL_MORBIDITY_WEIGHT = 0.6  # log-rate per SD of morbidity [I]
CLASSIC_LOS_MEAN_BY_AGE = [(0, 2.5), (45, 4.0), (65, 6.0), (75, 8.0), (85, 10.0)]  # days [I]
VIA_ED_SHARE_BY_AGE = [(0, 0.30), (65, 0.45), (80, 0.60)]  # of unplanned classic stays [I]
TRANSFER_SHARE = 0.02  # classic stays ending in a transfer to another hospital [I]
READMISSION_30D_BASE = 0.06  # P(readmitted within 30 d) [I]; VIKZ 7-d via ED mean 2.4% [S]
READMISSION_30D_OLD = 0.04  # extra for 75+
READMISSION_30D_CHRONIC = 0.05  # extra for high morbidity (z > 1)
READMISSION_VIA_ED = 0.65
READMISSION_GAP_SHAPE = 1.8  # gap = 1 + 29 * u^shape: front-loaded, ~40% within 7 days
DIAGNOSIS_LINKED_SHARE = 0.85  # stays with a linked main diagnosis group [I]
# Planned repeated stays (planned-readmission exclusions of quality indicators) [I]
CHEMO_PREVALENCE = 0.004
CHEMO_STAYS_PER_YEAR = 8
# Dialysis itself runs in dialysis centres; what reaches stays is a series of planned
# dialysis-related day and classic stays [I].
DIALYSIS_PREVALENCE_65 = 0.002  # 65+; 0.0003 below
DIALYSIS_STAYS_PER_YEAR = 12
# Psychiatric stays [I]; [S] psychiatric 30-d readmission ~11.1% (2016)
PSY_STAY_RATE_GENERAL = 0.002
PSY_STAY_RATE_MENTAL = 0.05  # among people treated for depression/psychosis
PSY_LOS_MEAN = 24
PSY_FOLLOW_UP_7D = 0.45
PSY_FOLLOW_UP_30D = 0.70
PSY_READMISSION_30D = 0.11

# --- money ------------------------------------------------------------------------------------
PERSONAL_SHARE_BIM = 0.05  # [I] of the fee, ambulatory, BIM (GP: €1 of €31.81 [S])
PERSONAL_SHARE_OTHER = 0.13  # [I] (GP: €4 of €31.81 [S])
HOSPITAL_FEE_LOG_MEAN = 7.2  # physician fees per classic stay, lognormal (median ~€1,300) [I]
HOSPITAL_FEE_LOG_SD = 1.0
SUPPLEMENT_SHARE = 0.08  # [I]
PHARMACY_PERSONAL_SHARE = {"A": 0.0, "B": 0.20, "C": 0.45, "Cs": 0.60, "Cx": 0.80}  # [I] rough

# --- accounting lags (months after the service month) [I]; claims can arrive up to 2 years late [S]
HEALTH_CARE_LAG = [
    (0.35, 0, 0),
    (0.70, 1, 1),
    (0.82, 2, 2),
    (0.89, 3, 3),
    (0.95, 4, 6),
    (0.98, 7, 12),
    (1.0, 13, 24),
]
HOSPITAL_LAG = [(0.20, 0, 0), (0.55, 1, 1), (0.75, 2, 2), (0.88, 3, 4), (0.96, 5, 9), (1.0, 10, 24)]
# Farmanet is processed per accounting quarter [S]: month = last month of the delivery's quarter,
# with a small share booked one quarter later [I].
PHARMACY_LATE_QUARTER_SHARE = 0.03

# Default as-of: claims booked up to 6 months after the last year (year Y is ~99% complete).
DEFAULT_AS_OF_MONTHS_AFTER = 6
