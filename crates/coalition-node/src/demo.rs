//! The fictional demo coalition and its history.
//!
//! A node started without a ledger of its own runs a demo: the eight member organisations of the
//! real coalition ([`DEMO_MEMBERS`]) with freshly generated keys, a genesis that says in its name
//! that the data is fictional ([`demo_genesis`]), and about two years of invented work
//! ([`demo_history`]): cases opened, PACE criteria asserted, signs noted, endorsements, releases
//! in prisoner exchanges, a death in custody, a re-detention, exclusions raised and withdrawn,
//! facts updated as cases move from investigation to a penal colony, and one policy change
//! approved by the governance quorum. [`demo_sealed_records`] adds fictional sensitive records
//! (relatives' and lawyers' contacts, health, sensitive signs and their sources) that the demo node
//! seals, so its member view shows what members keep sealed.
//!
//! Everything is fictional. Names are drawn at random from lists of common Ukrainian and Crimean
//! Tatar first names and surnames (never a real person's full name on purpose); facilities carry
//! invented numbers; postal addresses are on an invented street; every summary says that the case
//! is fictional.
//!
//! Generation is pure and deterministic: no I/O, no clock, no randomness source. The same
//! genesis, keys, case count and seed give the same events byte for byte. A small SplitMix64
//! generator seeded from `seed` makes every choice. Event times run from one day after the
//! genesis's `created` and never pass `created` plus [`DEMO_HISTORY_DAYS`] days, so the output
//! does not depend on today's date.
//!
//! Every event goes through the normal signing path (`Event::sign`), names the current heads of
//! every other feed as its deps (the author has applied everything written so far), and is
//! checked against a small mirror of the projection rules before it is written, so the verifier
//! accepts every event and the projector applies every one of them without an anomaly.

use std::collections::BTreeMap;

use coalition_core::body::{
    Body, CaseOpened, CaseUpdated, Charge, ChargeCode, Criterion, CriterionAsserted, CriterionWithdrawn,
    ExclusionGround, ExclusionRaised, ExclusionWithdrawn, FactField, Facts, Gender, PersonAdded, PersonDetained,
    PersonDied, PersonReleased, PersonRemoved, Policy, PolicyApproved, PolicyProposed, Regime, Region,
    ReleaseCircumstances, Sentence, Sign, SignNoted, Stage,
};
use coalition_core::event::{Event, EventError, EventId, IdError, LedgerId, OrgSlug, SignedEvent};
use coalition_core::genesis::{FoundingMember, Genesis, GenesisDoc, GenesisError};
use coalition_core::keys::{KeyError, KeyName, SignerKey};
use coalition_core::seal::{Recipient, SealedRecord, SealedValue};
use coalition_core::time::{Date, Timestamp};

// ---------------------------------------------------------------------------------------------
// Public constants
// ---------------------------------------------------------------------------------------------

/// The eight member organisations of the real coalition (slug, display name in English), used
/// with generated keys. The genesis and every key list follow this order.
pub const DEMO_MEMBERS: [(&str, &str); 8] = [
    ("arpp", "Association of Relatives of Political Prisoners of the Kremlin"),
    ("chrg", "Crimean Human Rights Group"),
    ("zmina", "ZMINA Human Rights Centre"),
    ("mihr", "Media Initiative for Human Rights"),
    ("uhhru", "Ukrainian Helsinki Human Rights Union"),
    ("ccl", "Center for Civil Liberties"),
    ("crimea-sos", "CrimeaSOS"),
    ("platform", "Platform for the Release of Political Prisoners"),
];

/// The origin of the demo coalition: every demo key is named `demo.coalition.example/<slug>`.
pub const DEMO_ORIGIN: &str = "demo.coalition.example";

/// The demo coalition's display name. It says "fictional", which is how a node recognises the
/// demo ledger and labels every page.
pub const DEMO_COALITION_NAME: &str = "Demo coalition (fictional data)";

/// Appended to each real organisation's name in the demo genesis, so that no page shows a real
/// organisation endorsing invented cases without saying it is a demo.
pub const DEMO_MEMBER_NAME_SUFFIX: &str = " (demo)";

/// The demo coalition's policy: two endorsements list a case, five members change membership or
/// policy and make an edition official, three members' exclusions exclude a case.
pub const DEMO_POLICY: Policy =
    Policy { edition_quorum: 5, exclusion_quorum: 3, governance_quorum: 5, listing_quorum: 2 };

/// How many days the demo history spans after the genesis's `created` (about two years). No
/// event is dated later.
pub const DEMO_HISTORY_DAYS: i64 = 730;

/// The most cases [`demo_history`] generates in one history.
pub const DEMO_CASES_MAX: usize = 20_000;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why the demo coalition or its history could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// The keys are not one per demo member.
    #[error("the demo needs {expected} keys, one per member in DEMO_MEMBERS order; {found} were given")]
    KeyCount {
        /// How many keys the demo needs.
        expected: usize,
        /// How many were given.
        found: usize,
    },
    /// A key is not named `<DEMO_ORIGIN>/<slug>` for the member at its position.
    #[error("the key for demo member {slug} must be named {expected:?}, found {found:?}")]
    KeyName {
        /// The member at that position.
        slug: &'static str,
        /// The name it must carry.
        expected: String,
        /// The name it carries.
        found: String,
    },
    /// A demo key name could not be formed.
    #[error("invalid demo key name: {0}")]
    InvalidKeyName(#[source] KeyError),
    /// A demo slug could not be formed.
    #[error("invalid demo slug: {0}")]
    InvalidSlug(#[source] IdError),
    /// The genesis could not be written, parsed or signed.
    #[error("demo genesis: {0}")]
    Genesis(#[from] GenesisError),
    /// The genesis given to [`demo_history`] is not the demo coalition of these keys.
    #[error("not the demo genesis of these keys: {0}")]
    NotDemoGenesis(String),
    /// More cases were asked for than the demo makes.
    #[error("{requested} cases asked for; the demo makes at most {max}")]
    TooManyCases {
        /// Cases asked for.
        requested: usize,
        /// [`DEMO_CASES_MAX`].
        max: usize,
    },
    /// The genesis time is so late that the history would run past the year 2999.
    #[error("the demo history cannot start at {created}: it would end after the year 2999")]
    TimeOutOfRange {
        /// The genesis's `created`.
        created: Timestamp,
    },
    /// Too many events to give each its own second within the history's time span.
    #[error("the demo history ran out of time: {events} events do not fit in {DEMO_HISTORY_DAYS} days")]
    OutOfTime {
        /// Events written before time ran out.
        events: usize,
    },
    /// An event could not be signed (a bug in the generator: it built a body the rules refuse).
    #[error("demo event {kind} refused: {error}")]
    Event {
        /// The kind of the refused event.
        kind: &'static str,
        /// Why.
        #[source]
        error: EventError,
    },
}

// ---------------------------------------------------------------------------------------------
// Public functions
// ---------------------------------------------------------------------------------------------

/// The key name a demo member signs with: `<DEMO_ORIGIN>/<slug>`.
pub fn demo_key_name(slug: &str) -> Result<KeyName, DemoError> {
    KeyName::parse(&format!("{DEMO_ORIGIN}/{slug}")).map_err(DemoError::InvalidKeyName)
}

/// The genesis of the demo coalition, signed by all eight members.
///
/// `keys` holds one key per member in [`DEMO_MEMBERS`] order, each named by [`demo_key_name`].
/// The coalition is named [`DEMO_COALITION_NAME`], its origin is [`DEMO_ORIGIN`], its policy is
/// [`DEMO_POLICY`], and each member's display name ends with [`DEMO_MEMBER_NAME_SUFFIX`].
pub fn demo_genesis(keys: &[SignerKey], created: Timestamp) -> Result<Genesis, DemoError> {
    demo_genesis_with_recipients(keys, &[], created)
}

/// [`demo_genesis`] with an encryption recipient for each member (in [`DEMO_MEMBERS`] order), so
/// the demo can seal records and reports. An empty `recipients` gives no member a recipient.
pub fn demo_genesis_with_recipients(
    keys: &[SignerKey],
    recipients: &[Recipient],
    created: Timestamp,
) -> Result<Genesis, DemoError> {
    check_keys(keys)?;
    let mut members = Vec::with_capacity(DEMO_MEMBERS.len());
    for (index, ((slug, name), key)) in DEMO_MEMBERS.iter().zip(keys).enumerate() {
        members.push(FoundingMember {
            slug: OrgSlug::parse(slug).map_err(DemoError::InvalidSlug)?,
            name: format!("{name}{DEMO_MEMBER_NAME_SUFFIX}"),
            vkey: key.verifier_key(),
            recipient: recipients.get(index).map(ToString::to_string),
        });
    }
    members.sort_by(|left, right| left.slug.cmp(&right.slug));
    let doc = GenesisDoc {
        name: DEMO_COALITION_NAME.to_owned(),
        origin: DEMO_ORIGIN.to_owned(),
        created,
        members,
        policy: DEMO_POLICY,
    };
    let mut genesis = Genesis::parse(&doc.to_note_text()?)?;
    for key in keys {
        let note = genesis.sign(key)?;
        genesis = Genesis::parse(&note)?;
    }
    genesis.require_complete()?;
    Ok(genesis)
}

/// About two years of the demo coalition's work on `cases` fictional cases, as signed events in
/// a valid signing order.
///
/// `genesis` must be the demo genesis of `keys` (see [`demo_genesis`]); `keys` are in
/// [`DEMO_MEMBERS`] order. The same inputs always give the same events. Each feed's seq and prev
/// chain is complete, every event names the heads of every other feed written before it as
/// deps, and times increase strictly across all feeds, from one day after the genesis's
/// `created` to at most [`DEMO_HISTORY_DAYS`] days after it. With 300 cases the history holds a
/// few thousand events: about 70% of the cases listed, 15% under review one endorsement short,
/// some released (mostly in exchanges), a few re-detained, excluded, delisted or died in custody.
pub fn demo_history(
    genesis: &Genesis,
    keys: &[SignerKey],
    cases: usize,
    seed: u64,
) -> Result<Vec<SignedEvent>, DemoError> {
    check_keys(keys)?;
    check_genesis(genesis, keys)?;
    if cases > DEMO_CASES_MAX {
        return Err(DemoError::TooManyCases { requested: cases, max: DEMO_CASES_MAX });
    }
    let created = genesis.doc().created;
    let start = created.unix_seconds();
    let end = start + DEMO_HISTORY_DAYS * SECONDS_PER_DAY;
    if Timestamp::from_unix_seconds(end).is_none() {
        return Err(DemoError::TimeOutOfRange { created });
    }

    let mut rng = SplitMix64::new(seed);
    let mut planner = Planner::new(created, &mut rng);
    let deck = outcome_deck(cases, &mut rng);
    for (case, outcome) in deck.into_iter().enumerate() {
        plan_case(&mut planner, &mut rng, case, outcome)?;
    }
    plan_governance(&mut planner, &mut rng);

    let mut actions = planner.actions;
    actions.sort_by_key(|planned| (planned.time, planned.order));

    let mut writer = Writer::new(genesis.ledger_id(), keys, start, end)?;
    let mut mirror = RulesMirror::new(cases);
    for planned in actions {
        let org = planned.org;
        let Some((body, creates)) = mirror.apply(org, planned.action) else {
            continue;
        };
        let id = writer.write(org, planned.time, body)?;
        mirror.record(creates, id);
    }
    Ok(writer.events)
}

/// Transliterates Ukrainian Cyrillic into Latin letters by the national system (Resolution 55 of
/// the Cabinet of Ministers of Ukraine, 2010), as used in Ukrainian passports: `Андрій Олійник`
/// becomes `Andrii Oliinyk`, `Згурівка` becomes `Zghurivka`. Letters outside the Ukrainian
/// alphabet are kept; apostrophes and the soft sign are dropped.
pub fn transliterate_uk(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous: Option<char> = None;
    for character in text.chars() {
        if is_apostrophe(character) {
            continue;
        }
        let lower = character.to_lowercase().next().unwrap_or(character);
        let word_start = previous.is_none_or(|before| !before.is_alphabetic());
        let latin: Option<&str> = match lower {
            'а' => Some("a"),
            'б' => Some("b"),
            'в' => Some("v"),
            'г' if previous.is_some_and(|before| matches!(before, 'з' | 'З')) => Some("gh"),
            'г' => Some("h"),
            'ґ' => Some("g"),
            'д' => Some("d"),
            'е' => Some("e"),
            'є' => Some(if word_start { "ye" } else { "ie" }),
            'ж' => Some("zh"),
            'з' => Some("z"),
            'и' => Some("y"),
            'і' => Some("i"),
            'ї' => Some(if word_start { "yi" } else { "i" }),
            'й' => Some(if word_start { "y" } else { "i" }),
            'к' => Some("k"),
            'л' => Some("l"),
            'м' => Some("m"),
            'н' => Some("n"),
            'о' => Some("o"),
            'п' => Some("p"),
            'р' => Some("r"),
            'с' => Some("s"),
            'т' => Some("t"),
            'у' => Some("u"),
            'ф' => Some("f"),
            'х' => Some("kh"),
            'ц' => Some("ts"),
            'ч' => Some("ch"),
            'ш' => Some("sh"),
            'щ' => Some("shch"),
            'ь' => Some(""),
            'ю' => Some(if word_start { "yu" } else { "iu" }),
            'я' => Some(if word_start { "ya" } else { "ia" }),
            _ => None,
        };
        match latin {
            Some(latin) if character.is_uppercase() => {
                let mut letters = latin.chars();
                if let Some(first) = letters.next() {
                    out.extend(first.to_uppercase());
                    out.push_str(letters.as_str());
                }
            }
            Some(latin) => out.push_str(latin),
            None => out.push(character),
        }
        previous = Some(character);
    }
    out
}

fn is_apostrophe(character: char) -> bool {
    matches!(character, '\'' | '\u{2019}' | '\u{02bc}')
}

// ---------------------------------------------------------------------------------------------
// Checks of the inputs
// ---------------------------------------------------------------------------------------------

fn check_keys(keys: &[SignerKey]) -> Result<(), DemoError> {
    if keys.len() != DEMO_MEMBERS.len() {
        return Err(DemoError::KeyCount { expected: DEMO_MEMBERS.len(), found: keys.len() });
    }
    for ((slug, _), key) in DEMO_MEMBERS.iter().zip(keys) {
        let expected = demo_key_name(slug)?;
        if key.name() != &expected {
            return Err(DemoError::KeyName {
                slug,
                expected: expected.as_str().to_owned(),
                found: key.name().as_str().to_owned(),
            });
        }
    }
    Ok(())
}

fn check_genesis(genesis: &Genesis, keys: &[SignerKey]) -> Result<(), DemoError> {
    let doc = genesis.doc();
    if doc.origin != DEMO_ORIGIN {
        return Err(DemoError::NotDemoGenesis(format!("its origin is {:?}, not {DEMO_ORIGIN:?}", doc.origin)));
    }
    if doc.policy != DEMO_POLICY {
        return Err(DemoError::NotDemoGenesis("its policy is not the demo policy".to_owned()));
    }
    if doc.members.len() != DEMO_MEMBERS.len() {
        return Err(DemoError::NotDemoGenesis(format!(
            "it has {} members, not {}",
            doc.members.len(),
            DEMO_MEMBERS.len()
        )));
    }
    for ((slug, _), key) in DEMO_MEMBERS.iter().zip(keys) {
        let slug = OrgSlug::parse(slug).map_err(DemoError::InvalidSlug)?;
        match genesis.member(&slug) {
            Some(member) if member.vkey == key.verifier_key() => {}
            Some(_) => return Err(DemoError::NotDemoGenesis(format!("member {slug} has another key"))),
            None => return Err(DemoError::NotDemoGenesis(format!("member {slug} is missing"))),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Deterministic random numbers
// ---------------------------------------------------------------------------------------------

/// SplitMix64 (Steele, Lea and Flood, 2014): tiny, fast, and good enough to make up a history.
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut mixed = self.state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^ (mixed >> 31)
    }

    /// A number in `0..bound` (0 when `bound` is 0).
    fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// An index into a slice of `length` items (0 when empty).
    fn index(&mut self, length: usize) -> usize {
        self.below(length as u64) as usize
    }

    /// A number in `low..=high` (`low` when the range is empty).
    fn between(&mut self, low: i64, high: i64) -> i64 {
        if high <= low {
            return low;
        }
        low + self.below((high - low) as u64 + 1) as i64
    }

    /// True with a chance of `percent` in 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One of the items (the slices passed are constant and never empty).
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.index(items.len())]
    }

    /// An index drawn with the given weights (0 if they are all zero).
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&weight| u64::from(weight)).sum();
        let mut draw = self.below(total);
        for (index, &weight) in weights.iter().enumerate() {
            if draw < u64::from(weight) {
                return index;
            }
            draw -= u64::from(weight);
        }
        0
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for index in (1..items.len()).rev() {
            let other = self.index(index + 1);
            items.swap(index, other);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Calendar arithmetic (days since 1970-01-01)
// ---------------------------------------------------------------------------------------------

const SECONDS_PER_DAY: i64 = 86_400;
const SECONDS_PER_HOUR: i64 = 3_600;

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn day_number(year: i64, month: i64, day: i64) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day number; every day number used here lies well inside the years a [`Date`]
/// allows, and the one that could not (a history past 2999) is refused up front.
fn date_of_day(day: i64) -> Option<Date> {
    Timestamp::from_unix_seconds(day * SECONDS_PER_DAY).map(Timestamp::date)
}

fn day_of(seconds: i64) -> i64 {
    seconds.div_euclid(SECONDS_PER_DAY)
}

/// Squeezes a day's 24 hours into 06:00–18:00 UTC (08:00–20:00 in Kyiv), keeping the order of
/// instants: people sign events during their working day.
fn working_time(seconds: i64) -> i64 {
    day_of(seconds) * SECONDS_PER_DAY + 6 * SECONDS_PER_HOUR + seconds.rem_euclid(SECONDS_PER_DAY) / 2
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn date_uk(date: Date) -> String {
    format!("{:02}.{:02}.{:04}", date.day(), date.month(), date.year())
}

fn date_en(date: Date) -> String {
    let month = MONTHS_EN.get(usize::from(date.month().saturating_sub(1))).copied().unwrap_or("January");
    format!("{} {month} {}", date.day(), date.year())
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

/// A first name in Ukrainian and as Russian court papers write it.
type FirstName = (&'static str, &'static str);
/// A surname: Ukrainian masculine, Ukrainian feminine, Russian masculine, Russian feminine.
type Surname = (&'static str, &'static str, &'static str, &'static str);
/// A Russian patronymic: masculine, feminine.
type Patronymic = (&'static str, &'static str);

const UKRAINIAN_MEN: [FirstName; 30] = [
    ("Андрій", "Андрей"),
    ("Олександр", "Александр"),
    ("Сергій", "Сергей"),
    ("Олексій", "Алексей"),
    ("Дмитро", "Дмитрий"),
    ("Віктор", "Виктор"),
    ("Володимир", "Владимир"),
    ("Микола", "Николай"),
    ("Юрій", "Юрий"),
    ("Іван", "Иван"),
    ("Петро", "Петр"),
    ("Василь", "Василий"),
    ("Богдан", "Богдан"),
    ("Тарас", "Тарас"),
    ("Максим", "Максим"),
    ("Ігор", "Игорь"),
    ("Олег", "Олег"),
    ("Роман", "Роман"),
    ("Євген", "Евгений"),
    ("Артем", "Артем"),
    ("Павло", "Павел"),
    ("Ярослав", "Ярослав"),
    ("Костянтин", "Константин"),
    ("Вадим", "Вадим"),
    ("Станіслав", "Станислав"),
    ("Владислав", "Владислав"),
    ("Михайло", "Михаил"),
    ("Анатолій", "Анатолий"),
    ("Геннадій", "Геннадий"),
    ("Валерій", "Валерий"),
];

const UKRAINIAN_WOMEN: [FirstName; 20] = [
    ("Олена", "Елена"),
    ("Наталія", "Наталья"),
    ("Ірина", "Ирина"),
    ("Тетяна", "Татьяна"),
    ("Оксана", "Оксана"),
    ("Юлія", "Юлия"),
    ("Марія", "Мария"),
    ("Світлана", "Светлана"),
    ("Людмила", "Людмила"),
    ("Вікторія", "Виктория"),
    ("Ганна", "Анна"),
    ("Катерина", "Екатерина"),
    ("Ольга", "Ольга"),
    ("Валентина", "Валентина"),
    ("Лариса", "Лариса"),
    ("Галина", "Галина"),
    ("Надія", "Надежда"),
    ("Дарія", "Дарья"),
    ("Інна", "Инна"),
    ("Анастасія", "Анастасия"),
];

const CRIMEAN_TATAR_MEN: [FirstName; 20] = [
    ("Ернест", "Эрнест"),
    ("Рустем", "Рустем"),
    ("Ленур", "Ленур"),
    ("Ельдар", "Эльдар"),
    ("Енвер", "Энвер"),
    ("Сейран", "Сейран"),
    ("Айдер", "Айдер"),
    ("Різа", "Риза"),
    ("Ремзі", "Ремзи"),
    ("Тимур", "Тимур"),
    ("Ескендер", "Эскендер"),
    ("Ділявер", "Дилявер"),
    ("Іслям", "Ислям"),
    ("Назім", "Назим"),
    ("Февзі", "Февзи"),
    ("Амет", "Амет"),
    ("Асан", "Асан"),
    ("Осман", "Осман"),
    ("Рефат", "Рефат"),
    ("Арсен", "Арсен"),
];

const CRIMEAN_TATAR_WOMEN: [FirstName; 10] = [
    ("Ленара", "Ленара"),
    ("Зарема", "Зарема"),
    ("Ельміра", "Эльмира"),
    ("Гульнара", "Гульнара"),
    ("Діляра", "Диляра"),
    ("Ельвіра", "Эльвира"),
    ("Аліме", "Алиме"),
    ("Ельзара", "Эльзара"),
    ("Сусанна", "Сусанна"),
    ("Зера", "Зера"),
];

const UKRAINIAN_SURNAMES: [Surname; 34] = [
    ("Коваленко", "Коваленко", "Коваленко", "Коваленко"),
    ("Бондаренко", "Бондаренко", "Бондаренко", "Бондаренко"),
    ("Ткаченко", "Ткаченко", "Ткаченко", "Ткаченко"),
    ("Кравченко", "Кравченко", "Кравченко", "Кравченко"),
    ("Олійник", "Олійник", "Олейник", "Олейник"),
    ("Шевчук", "Шевчук", "Шевчук", "Шевчук"),
    ("Мельник", "Мельник", "Мельник", "Мельник"),
    ("Бойко", "Бойко", "Бойко", "Бойко"),
    ("Ковальчук", "Ковальчук", "Ковальчук", "Ковальчук"),
    ("Поліщук", "Поліщук", "Полищук", "Полищук"),
    ("Марченко", "Марченко", "Марченко", "Марченко"),
    ("Лисенко", "Лисенко", "Лысенко", "Лысенко"),
    ("Руденко", "Руденко", "Руденко", "Руденко"),
    ("Петренко", "Петренко", "Петренко", "Петренко"),
    ("Гончаренко", "Гончаренко", "Гончаренко", "Гончаренко"),
    ("Мороз", "Мороз", "Мороз", "Мороз"),
    ("Павленко", "Павленко", "Павленко", "Павленко"),
    ("Литвин", "Литвин", "Литвин", "Литвин"),
    ("Федоренко", "Федоренко", "Федоренко", "Федоренко"),
    ("Кузьменко", "Кузьменко", "Кузьменко", "Кузьменко"),
    ("Романюк", "Романюк", "Романюк", "Романюк"),
    ("Ярошенко", "Ярошенко", "Ярошенко", "Ярошенко"),
    ("Гнатюк", "Гнатюк", "Гнатюк", "Гнатюк"),
    ("Левченко", "Левченко", "Левченко", "Левченко"),
    ("Демченко", "Демченко", "Демченко", "Демченко"),
    ("Хоменко", "Хоменко", "Хоменко", "Хоменко"),
    ("Остапенко", "Остапенко", "Остапенко", "Остапенко"),
    ("Білик", "Білик", "Билык", "Билык"),
    ("Гаврилюк", "Гаврилюк", "Гаврилюк", "Гаврилюк"),
    ("Приходько", "Приходько", "Приходько", "Приходько"),
    ("Ковальський", "Ковальська", "Ковальский", "Ковальская"),
    ("Вишневський", "Вишневська", "Вишневский", "Вишневская"),
    ("Соколов", "Соколова", "Соколов", "Соколова"),
    ("Захаров", "Захарова", "Захаров", "Захарова"),
];

const CRIMEAN_TATAR_SURNAMES: [Surname; 17] = [
    ("Абдуллаєв", "Абдуллаєва", "Абдуллаев", "Абдуллаева"),
    ("Халілов", "Халілова", "Халилов", "Халилова"),
    ("Аблаєв", "Аблаєва", "Аблаев", "Аблаева"),
    ("Меметов", "Меметова", "Меметов", "Меметова"),
    ("Усеїнов", "Усеїнова", "Усеинов", "Усеинова"),
    ("Куртсеїтов", "Куртсеїтова", "Куртсеитов", "Куртсеитова"),
    ("Ісмаїлов", "Ісмаїлова", "Исмаилов", "Исмаилова"),
    ("Сулейманов", "Сулейманова", "Сулейманов", "Сулейманова"),
    ("Османов", "Османова", "Османов", "Османова"),
    ("Решитов", "Решитова", "Решитов", "Решитова"),
    ("Керімов", "Керімова", "Керимов", "Керимова"),
    ("Велієв", "Велієва", "Велиев", "Велиева"),
    ("Джафаров", "Джафарова", "Джафаров", "Джафарова"),
    ("Азізов", "Азізова", "Азизов", "Азизова"),
    ("Сеїтов", "Сеїтова", "Сеитов", "Сеитова"),
    ("Еміров", "Емірова", "Эмиров", "Эмирова"),
    ("Алімов", "Алімова", "Алимов", "Алимова"),
];

const UKRAINIAN_PATRONYMICS: [Patronymic; 14] = [
    ("Николаевич", "Николаевна"),
    ("Александрович", "Александровна"),
    ("Сергеевич", "Сергеевна"),
    ("Владимирович", "Владимировна"),
    ("Викторович", "Викторовна"),
    ("Иванович", "Ивановна"),
    ("Петрович", "Петровна"),
    ("Васильевич", "Васильевна"),
    ("Юрьевич", "Юрьевна"),
    ("Михайлович", "Михайловна"),
    ("Анатольевич", "Анатольевна"),
    ("Григорьевич", "Григорьевна"),
    ("Андреевич", "Андреевна"),
    ("Олегович", "Олеговна"),
];

const CRIMEAN_TATAR_PATRONYMICS: [Patronymic; 10] = [
    ("Рустемович", "Рустемовна"),
    ("Энверович", "Энверовна"),
    ("Сейранович", "Сейрановна"),
    ("Айдерович", "Айдеровна"),
    ("Серверович", "Серверовна"),
    ("Ильясович", "Ильясовна"),
    ("Ленурович", "Ленуровна"),
    ("Решатович", "Решатовна"),
    ("Эдемович", "Эдемовна"),
    ("Нариманович", "Наримановна"),
];

/// A fictional person's names and birth.
struct Person {
    name_uk: String,
    name_en: String,
    name_ru: String,
    gender: Gender,
}

fn make_person(rng: &mut SplitMix64, crimean_tatar: bool, gender: Gender) -> Person {
    let female = gender == Gender::Female;
    let (first_names, surnames, patronymics): (&[FirstName], &[Surname], &[Patronymic]) = match (crimean_tatar, female)
    {
        (true, false) => (&CRIMEAN_TATAR_MEN, &CRIMEAN_TATAR_SURNAMES, &CRIMEAN_TATAR_PATRONYMICS),
        (true, true) => (&CRIMEAN_TATAR_WOMEN, &CRIMEAN_TATAR_SURNAMES, &CRIMEAN_TATAR_PATRONYMICS),
        (false, false) => (&UKRAINIAN_MEN, &UKRAINIAN_SURNAMES, &UKRAINIAN_PATRONYMICS),
        (false, true) => (&UKRAINIAN_WOMEN, &UKRAINIAN_SURNAMES, &UKRAINIAN_PATRONYMICS),
    };
    let (first_uk, first_ru) = rng.pick(first_names);
    let (surname_uk_male, surname_uk_female, surname_ru_male, surname_ru_female) = rng.pick(surnames);
    let (patronymic_male, patronymic_female) = rng.pick(patronymics);
    let (surname_uk, surname_ru, patronymic) = if female {
        (surname_uk_female, surname_ru_female, patronymic_female)
    } else {
        (surname_uk_male, surname_ru_male, patronymic_male)
    };
    let name_uk = format!("{first_uk} {surname_uk}");
    Person {
        name_en: transliterate_uk(&name_uk),
        name_uk,
        // Russian court papers write the surname first, then the first name and patronymic.
        name_ru: format!("{surname_ru} {first_ru} {patronymic}"),
        gender,
    }
}

// ---------------------------------------------------------------------------------------------
// Places
// ---------------------------------------------------------------------------------------------

/// What the demo knows of a region: how often cases come from it, since when it is occupied
/// (the earliest detention date), where people are seized, pre-trial prisons (fictional
/// numbers), and how often each member opens its cases (in [`DEMO_MEMBERS`] order).
struct RegionProfile {
    region: Region,
    weight: u32,
    occupied_since: (i64, i64, i64),
    towns: &'static [(&'static str, &'static str)],
    pretrial_prisons: &'static [&'static str],
    openers: [u32; 8],
}

const CRIMEA_OPENERS: [u32; 8] = [5, 25, 15, 8, 10, 7, 25, 5];
const MAINLAND_OPENERS: [u32; 8] = [12, 2, 18, 25, 18, 15, 2, 8];

const REGIONS: [RegionProfile; 7] = [
    RegionProfile {
        region: Region::Crimea,
        weight: 50,
        occupied_since: (2014, 3, 1),
        towns: &[
            ("Сімферополь", "Simferopol"),
            ("Бахчисарай", "Bakhchysarai"),
            ("Джанкой", "Dzhankoi"),
            ("Судак", "Sudak"),
            ("Старий Крим", "Staryi Krym"),
            ("Білогірськ", "Bilohirsk"),
            ("Керч", "Kerch"),
            ("Ялта", "Yalta"),
            ("Алушта", "Alushta"),
            ("Євпаторія", "Yevpatoriia"),
            ("Феодосія", "Feodosiia"),
        ],
        pretrial_prisons: &["СІЗО № 12, Сімферополь", "СІЗО № 15, Керч"],
        openers: CRIMEA_OPENERS,
    },
    RegionProfile {
        region: Region::Donetsk,
        weight: 14,
        occupied_since: (2014, 5, 1),
        towns: &[
            ("Донецьк", "Donetsk"),
            ("Маріуполь", "Mariupol"),
            ("Горлівка", "Horlivka"),
            ("Макіївка", "Makiivka"),
            ("Єнакієве", "Yenakiieve"),
        ],
        pretrial_prisons: &["СІЗО № 16, Донецьк", "СІЗО № 17, Маріуполь"],
        openers: MAINLAND_OPENERS,
    },
    RegionProfile {
        region: Region::Zaporizhzhia,
        weight: 11,
        occupied_since: (2022, 3, 1),
        towns: &[
            ("Мелітополь", "Melitopol"),
            ("Бердянськ", "Berdiansk"),
            ("Енергодар", "Enerhodar"),
            ("Токмак", "Tokmak"),
            ("Василівка", "Vasylivka"),
        ],
        pretrial_prisons: &["СІЗО № 19, Мелітополь"],
        openers: MAINLAND_OPENERS,
    },
    RegionProfile {
        region: Region::Kherson,
        weight: 9,
        occupied_since: (2022, 3, 1),
        towns: &[
            ("Нова Каховка", "Nova Kakhovka"),
            ("Скадовськ", "Skadovsk"),
            ("Генічеськ", "Henichesk"),
            ("Каховка", "Kakhovka"),
        ],
        pretrial_prisons: &["СІЗО № 21, Генічеськ"],
        openers: MAINLAND_OPENERS,
    },
    RegionProfile {
        region: Region::Luhansk,
        weight: 7,
        occupied_since: (2014, 5, 1),
        towns: &[
            ("Луганськ", "Luhansk"),
            ("Алчевськ", "Alchevsk"),
            ("Старобільськ", "Starobilsk"),
            ("Сєвєродонецьк", "Sievierodonetsk"),
        ],
        pretrial_prisons: &["СІЗО № 18, Луганськ"],
        openers: MAINLAND_OPENERS,
    },
    RegionProfile {
        region: Region::Sevastopol,
        weight: 5,
        occupied_since: (2014, 3, 1),
        towns: &[("Севастополь", "Sevastopol")],
        pretrial_prisons: &["СІЗО № 13, Севастополь"],
        openers: CRIMEA_OPENERS,
    },
    RegionProfile {
        region: Region::Russia,
        weight: 4,
        occupied_since: (2014, 6, 1),
        towns: &[("Бєлгород", "Belgorod"), ("Курськ", "Kursk"), ("Брянськ", "Bryansk"), ("Москва", "Moscow")],
        pretrial_prisons: &["СІЗО № 23, Москва", "СІЗО № 24, Курськ"],
        openers: MAINLAND_OPENERS,
    },
];

/// Where cases brought before the Southern District Military Court are held during trial.
const ROSTOV_PRETRIAL_PRISON: &str = "СІЗО № 11, Ростов-на-Дону";

/// A Russian region with penal colonies: its name in Ukrainian, in Russian, and a town there
/// (in Russian, for the postal address).
type PenalRegion = (&'static str, &'static str, &'static str);

const PENAL_REGIONS: [PenalRegion; 9] = [
    ("Ростовська область", "Ростовская область", "г. Новошахтинск"),
    ("Краснодарський край", "Краснодарский край", "г. Армавир"),
    ("Республіка Башкортостан", "Республика Башкортостан", "г. Салават"),
    ("Республіка Мордовія", "Республика Мордовия", "пос. Явас"),
    ("Челябінська область", "Челябинская область", "г. Копейск"),
    ("Омська область", "Омская область", "г. Омск"),
    ("Кіровська область", "Кировская область", "г. Кирово-Чепецк"),
    ("Саратовська область", "Саратовская область", "г. Энгельс"),
    ("Республіка Татарстан", "Республика Татарстан", "г. Нижнекамск"),
];

const PRISON_REGION: PenalRegion = ("Володимирська область", "Владимирская область", "г. Владимир");

/// A penal facility for a sentence: its name (Ukrainian) and a fictional postal address
/// (Russian, on an invented street).
fn penal_facility(rng: &mut SplitMix64, regime: Regime) -> (String, String) {
    let number = rng.between(30, 69);
    let (region_uk, region_ru, town_ru) =
        if regime == Regime::Prison { PRISON_REGION } else { rng.pick(&PENAL_REGIONS) };
    let (place, facility_ru) = match regime {
        Regime::Prison => (format!("Тюрма № {number}, {region_uk}"), format!("ФКУ Т-{number}")),
        Regime::Settlement => (format!("Колонія-поселення № {number}, {region_uk}"), format!("ФКУ КП-{number}")),
        Regime::General => {
            (format!("Виправна колонія № {number} загального режиму, {region_uk}"), format!("ФКУ ИК-{number}"))
        }
        Regime::Special => {
            (format!("Виправна колонія № {number} особливого режиму, {region_uk}"), format!("ФКУ ИК-{number}"))
        }
        Regime::Strict | Regime::Psychiatric => {
            (format!("Виправна колонія № {number} суворого режиму, {region_uk}"), format!("ФКУ ИК-{number}"))
        }
    };
    let postcode = rng.between(300_000, 699_999);
    let house = rng.between(1, 99);
    let address = format!("Россия, {postcode}, {region_ru}, {town_ru}, ул. Вымышленная, д. {house}, {facility_ru}");
    (place, address)
}

// ---------------------------------------------------------------------------------------------
// Kinds of cases
// ---------------------------------------------------------------------------------------------

/// The typical kinds of cases against Ukrainians.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CaseKind {
    /// Alleged membership of Hizb ut-Tahrir, legal in Ukraine (Crimea).
    HizbUtTahrir,
    /// Citizen journalists and activists of Crimean Solidarity.
    CrimeanSolidarity,
    /// "High treason" or "espionage".
    Spy,
    /// "Sabotage" and explosives.
    Saboteur,
    /// Posts and words against the war.
    Speech,
    /// Journalists.
    Journalist,
    /// Weapons or drugs "found" in a search.
    PlantedEvidence,
    /// Held without charge, whereabouts unknown.
    Incommunicado,
}

const CRIMEA_KINDS: [(CaseKind, u32); 7] = [
    (CaseKind::HizbUtTahrir, 30),
    (CaseKind::CrimeanSolidarity, 12),
    (CaseKind::Spy, 18),
    (CaseKind::Saboteur, 12),
    (CaseKind::Speech, 18),
    (CaseKind::Journalist, 5),
    (CaseKind::PlantedEvidence, 5),
];
const DONBAS_KINDS: [(CaseKind, u32); 6] = [
    (CaseKind::Spy, 30),
    (CaseKind::Saboteur, 15),
    (CaseKind::Speech, 10),
    (CaseKind::Journalist, 10),
    (CaseKind::PlantedEvidence, 20),
    (CaseKind::Incommunicado, 15),
];
const SOUTH_KINDS: [(CaseKind, u32); 5] = [
    (CaseKind::Spy, 25),
    (CaseKind::Saboteur, 25),
    (CaseKind::Speech, 10),
    (CaseKind::Journalist, 10),
    (CaseKind::Incommunicado, 30),
];
const RUSSIA_KINDS: [(CaseKind, u32); 4] =
    [(CaseKind::Spy, 35), (CaseKind::Saboteur, 25), (CaseKind::Speech, 25), (CaseKind::Journalist, 15)];

/// How long before a case is opened its kind or region must already have had cases, so that
/// the detention date fits both.
const LEAD_DAYS: i64 = 70;

/// A kind of case for the region, among those that existed `LEAD_DAYS` before `opened_day`
/// (any kind if none did: a coalition founded before 2014).
fn pick_kind(rng: &mut SplitMix64, region: Region, opened_day: i64) -> CaseKind {
    let kinds: &[(CaseKind, u32)] = match region {
        Region::Crimea | Region::Sevastopol => &CRIMEA_KINDS,
        Region::Donetsk | Region::Luhansk => &DONBAS_KINDS,
        Region::Zaporizhzhia | Region::Kherson => &SOUTH_KINDS,
        Region::Russia | Region::Other => &RUSSIA_KINDS,
    };
    let weights = possible_weights(kinds.iter().map(|(kind, weight)| (kind.since(), *weight)), opened_day);
    kinds.get(rng.weighted(&weights)).map_or(CaseKind::Spy, |(kind, _)| *kind)
}

/// The weights of the choices whose start date is at least `LEAD_DAYS` before `opened_day`, or
/// every weight if none is.
fn possible_weights(choices: impl Iterator<Item = ((i64, i64, i64), u32)> + Clone, opened_day: i64) -> Vec<u32> {
    let possible: Vec<u32> = choices
        .clone()
        .map(
            |((year, month, day), weight)| {
                if day_number(year, month, day) + LEAD_DAYS <= opened_day { weight } else { 0 }
            },
        )
        .collect();
    if possible.iter().any(|&weight| weight > 0) { possible } else { choices.map(|(_, weight)| weight).collect() }
}

impl CaseKind {
    /// The earliest detention date of such a case.
    fn since(self) -> (i64, i64, i64) {
        match self {
            Self::HizbUtTahrir => (2015, 1, 20),
            Self::CrimeanSolidarity => (2017, 1, 15),
            Self::Speech => (2022, 3, 10),
            Self::Incommunicado => (2022, 2, 24),
            Self::Spy | Self::Saboteur | Self::Journalist | Self::PlantedEvidence => (2014, 6, 1),
        }
    }

    /// The criteria members assert, the most usual first.
    fn criteria(self) -> &'static [Criterion] {
        match self {
            Self::HizbUtTahrir => &[Criterion::A, Criterion::E, Criterion::D],
            Self::CrimeanSolidarity => &[Criterion::A, Criterion::B, Criterion::E],
            Self::Spy => &[Criterion::E, Criterion::B],
            Self::Saboteur => &[Criterion::E, Criterion::C],
            Self::Speech => &[Criterion::A, Criterion::B],
            Self::Journalist => &[Criterion::A, Criterion::E],
            Self::PlantedEvidence => &[Criterion::E, Criterion::B],
            Self::Incommunicado => &[Criterion::B, Criterion::E],
        }
    }

    /// The public signs members note, the most usual first.
    fn signs(self) -> &'static [Sign] {
        match self {
            Self::HizbUtTahrir => &[Sign::PropagandaProsecution, Sign::FalsifiedEvidence],
            Self::CrimeanSolidarity => &[Sign::ProfessionalActivity, Sign::FreeSpeech, Sign::PropagandaProsecution],
            Self::Spy => &[Sign::FalsifiedEvidence, Sign::PropagandaProsecution, Sign::ProUkrainianPosition],
            Self::Saboteur => &[Sign::ProUkrainianPosition, Sign::FalsifiedEvidence],
            Self::Speech => &[Sign::FreeSpeech, Sign::ProUkrainianPosition],
            Self::Journalist => &[Sign::ProfessionalActivity, Sign::FreeSpeech],
            Self::PlantedEvidence => &[Sign::FalsifiedEvidence, Sign::ProUkrainianPosition],
            Self::Incommunicado => &[Sign::ProUkrainianPosition],
        }
    }

    /// The group of related cases, and how often a case of this kind is filed under it.
    fn group(self) -> Option<(&'static str, u64)> {
        match self {
            Self::HizbUtTahrir => Some(("Hizb ut-Tahrir case", 85)),
            Self::CrimeanSolidarity => Some(("Crimean Solidarity", 85)),
            Self::Saboteur => Some(("saboteurs", 45)),
            Self::Spy => Some(("spies", 40)),
            Self::Speech | Self::Journalist | Self::PlantedEvidence | Self::Incommunicado => None,
        }
    }

    /// One sentence on what happened, in Ukrainian and English.
    fn story(self) -> (&'static str, &'static str) {
        match self {
            Self::HizbUtTahrir => (
                "Обвинувачено в участі в осередку «Хізб ут-Тахрір» — релігійної організації, що діє в Україні легально; підставою стали записані прихованою камерою розмови про релігію.",
                "Charged with membership of a Hizb ut-Tahrir cell, a religious organisation that is legal in Ukraine, on the strength of conversations about religion recorded by a hidden camera.",
            ),
            Self::CrimeanSolidarity => (
                "Після трансляцій обшуків у кримськотатарських родинах для «Кримської солідарності» обвинувачено в тероризмі за статтями, що їх застосовують у справах «Хізб ут-Тахрір».",
                "After streaming searches of Crimean Tatar homes for Crimean Solidarity, charged with terrorism under the articles used in the Hizb ut-Tahrir cases.",
            ),
            Self::Spy => (
                "Обвинувачено в «державній зраді» чи «шпигунстві» через листування з родичами на підконтрольній Україні території; рідні кажуть, що зізнання отримано під тиском.",
                "Charged with “high treason” or “espionage” over messages to relatives in government-controlled Ukraine; the family says the confession was obtained under pressure.",
            ),
            Self::Saboteur => (
                "Обвинувачено в підготовці диверсії на залізниці; захист наполягає, що вибухівку підкинули під час обшуку.",
                "Charged with preparing sabotage on the railway; the defence maintains that the explosives were planted during the search.",
            ),
            Self::Speech => (
                "Переслідується за дописи в соцмережах на підтримку України та проти війни.",
                "Prosecuted for social-media posts supporting Ukraine and opposing the war.",
            ),
            Self::Journalist => (
                "Переслідується за журналістську роботу: репортажі з окупованої території для українських медіа.",
                "Prosecuted for journalism: reports from the occupied territory for Ukrainian media.",
            ),
            Self::PlantedEvidence => (
                "Під час обшуку «знайшли» зброю та наркотики, яких, за словами рідних, у домі не було; справу вважають помстою за проукраїнську позицію.",
                "During a search the police “found” weapons and drugs that, the family says, were never in the house; the case is seen as retaliation for a pro-Ukrainian stance.",
            ),
            Self::Incommunicado => (
                "Затримано на блокпосту; тривалий час місце утримання невідоме, обвинувачення не висунуто.",
                "Detained at a checkpoint and held incommunicado for a long time without charge.",
            ),
        }
    }

    /// The charges of the indictment.
    fn charges(self, rng: &mut SplitMix64) -> Vec<Charge> {
        match self {
            Self::HizbUtTahrir | Self::CrimeanSolidarity => {
                let mut charges = vec![if self == Self::HizbUtTahrir && rng.chance(25) {
                    charge("205.5", "1", "organising the activity of a terrorist organisation")
                } else {
                    charge("205.5", "2", "participation in the activity of a terrorist organisation")
                }];
                if rng.chance(30) {
                    charges.push(charge("278", "", "violent seizure of power (preparation, art. 30 part 1)"));
                }
                charges
            }
            Self::Spy => {
                let mut charges = vec![match rng.below(3) {
                    0 => charge("275", "", "high treason"),
                    1 => charge("276", "", "espionage"),
                    _ => charge("275.1", "", "confidential cooperation with a foreign state"),
                }];
                if rng.chance(25) {
                    charges.push(charge("222", "1", "illegal possession of weapons"));
                }
                charges
            }
            Self::Saboteur => {
                let mut charges = vec![if rng.chance(70) {
                    charge("281", "2", "sabotage")
                } else {
                    charge("281", "1", "sabotage (attempt, art. 30 part 3)")
                }];
                if rng.chance(60) {
                    charges.push(charge("222.1", "1", "illegal possession of explosives"));
                }
                if rng.chance(40) {
                    charges.push(charge("223.1", "1", "illegal manufacture of explosives"));
                }
                charges
            }
            Self::Speech => vec![match rng.below(4) {
                0 => charge("280.3", "1", "public actions discrediting the armed forces"),
                1 => charge("207.3", "2", "knowingly false information about the armed forces"),
                2 => charge("205.2", "2", "public justification of terrorism on the internet"),
                _ => charge("280.4", "2", "public calls against the security of the state"),
            }],
            Self::Journalist => {
                let mut charges = vec![if rng.chance(50) {
                    charge("207.3", "2", "knowingly false information about the armed forces")
                } else {
                    charge("276", "", "espionage")
                }];
                if rng.chance(30) {
                    charges.push(charge("205.2", "2", "public justification of terrorism on the internet"));
                }
                charges
            }
            Self::PlantedEvidence => {
                let mut charges = vec![charge("222", "1", "illegal possession of weapons")];
                if rng.chance(50) {
                    charges.push(charge("228", "2", "possession of drugs (the defence says they were planted)"));
                }
                charges
            }
            Self::Incommunicado => Vec::new(),
        }
    }

    /// The sentence such a case ends in, at least `served_days` long (the person is still held).
    fn sentence(self, rng: &mut SplitMix64, served_days: i64) -> Sentence {
        let (low, high, regime) = match self {
            Self::HizbUtTahrir => (10, 19, if rng.chance(25) { Regime::Prison } else { Regime::Strict }),
            Self::CrimeanSolidarity => (12, 17, Regime::Strict),
            Self::Spy => (10, 20, if rng.chance(10) { Regime::Special } else { Regime::Strict }),
            Self::Saboteur => (12, 20, Regime::Strict),
            Self::Speech => (1, 7, if rng.chance(25) { Regime::Settlement } else { Regime::General }),
            Self::Journalist => (5, 14, if rng.chance(50) { Regime::General } else { Regime::Strict }),
            Self::PlantedEvidence => (3, 9, if rng.chance(50) { Regime::General } else { Regime::Strict }),
            Self::Incommunicado => (8, 15, Regime::Strict),
        };
        let served_years = served_days / 365;
        let years = rng.between(low, high).max(served_years + rng.between(1, 3)).min(25);
        let months = if rng.chance(30) { rng.between(1, 11) } else { 0 };
        sentence_of(years, months, regime)
    }
}

/// A sentence of `years` and `months` (clamped to what a sentence allows) in `regime`, worded in
/// Ukrainian and English.
fn sentence_of(years: i64, months: i64, regime: Regime) -> Sentence {
    let years = u8::try_from(years.clamp(0, 25)).unwrap_or(25);
    let months = u8::try_from(months.clamp(0, 11)).unwrap_or(0);
    let years = if years == 0 && months == 0 { 1 } else { years };
    Sentence {
        life: None,
        months: (months > 0).then_some(months),
        regime: Some(regime),
        text_en: Some(sentence_text_en(years, months, regime)),
        text_uk: Some(sentence_text_uk(years, months, regime)),
        years: (years > 0).then_some(years),
    }
}

/// The day a sentence ends, counted from the detention (time in pre-trial detention counts
/// toward the term); `None` for a case that has no sentence in view.
fn facts_term_end(detained_day: i64, sentence: &Sentence, kind: CaseKind) -> Option<i64> {
    if kind == CaseKind::Incommunicado {
        return None;
    }
    if sentence.years.is_none() && sentence.months.is_none() {
        return None;
    }
    let years = i64::from(sentence.years.unwrap_or(0));
    let months = i64::from(sentence.months.unwrap_or(0));
    Some(detained_day + years * 365 + years / 4 + months * 30)
}

fn charge(article: &str, part: &str, note: &str) -> Charge {
    Charge {
        article: article.to_owned(),
        code: ChargeCode::RuCriminalCode,
        note: Some(note.to_owned()),
        part: (!part.is_empty()).then(|| part.to_owned()),
    }
}

/// The Ukrainian plural form of a count: `one` for 1, 21, ...; `few` for 2–4, 22–24, ...;
/// `many` otherwise.
fn plural_uk(count: u8, one: &'static str, few: &'static str, many: &'static str) -> &'static str {
    let (last, last_two) = (count % 10, count % 100);
    if last == 1 && last_two != 11 {
        one
    } else if (2..=4).contains(&last) && !(12..=14).contains(&last_two) {
        few
    } else {
        many
    }
}

fn sentence_text_uk(years: u8, months: u8, regime: Regime) -> String {
    let mut parts = Vec::new();
    if years > 0 {
        parts.push(format!("{years} {}", plural_uk(years, "рік", "роки", "років")));
    }
    if months > 0 {
        parts.push(format!("{months} {}", plural_uk(months, "місяць", "місяці", "місяців")));
    }
    let term = parts.join(" ");
    let regime = match regime {
        Regime::General => "у колонії загального режиму",
        Regime::Strict | Regime::Psychiatric => "у колонії суворого режиму",
        Regime::Special => "у колонії особливого режиму",
        Regime::Prison => "з відбуванням перших років у тюрмі",
        Regime::Settlement => "у колонії-поселенні",
    };
    format!("{term} позбавлення волі {regime}")
}

fn sentence_text_en(years: u8, months: u8, regime: Regime) -> String {
    let mut parts = Vec::new();
    if years > 0 {
        parts.push(format!("{years} year{}", if years == 1 { "" } else { "s" }));
    }
    if months > 0 {
        parts.push(format!("{months} month{}", if months == 1 { "" } else { "s" }));
    }
    let term = parts.join(" ");
    let regime = match regime {
        Regime::General => "in a general-regime colony",
        Regime::Strict | Regime::Psychiatric => "in a strict-regime colony",
        Regime::Special => "in a special-regime colony",
        Regime::Prison => "with the first years served in prison",
        Regime::Settlement => "in a colony-settlement",
    };
    format!("{term} of imprisonment {regime}")
}

/// Reasoning for a criterion, in Ukrainian and English.
fn reasoning(criterion: Criterion) -> (&'static str, &'static str) {
    match criterion {
        Criterion::A => (
            "Переслідування за мирне здійснення основоположних свобод: віросповідання, вираження поглядів, об’єднань.",
            "Prosecuted for the peaceful exercise of fundamental freedoms: religion, expression, association.",
        ),
        Criterion::B => (
            "Суто політичні мотиви: матеріали справи не містять ознак злочину.",
            "Purely political motives: the case file shows no sign of an offence.",
        ),
        Criterion::C => (
            "Строк і умови утримання явно непропорційні, з політичних мотивів.",
            "Length and conditions of detention clearly out of proportion, for political motives.",
        ),
        Criterion::D => (
            "Дискримінаційне переслідування за етнічною та релігійною ознакою.",
            "Discriminatory prosecution on ethnic and religious grounds.",
        ),
        Criterion::E => (
            "Явно несправедливе провадження: засекречені свідки, тиск на захист, зізнання під примусом.",
            "Clearly unfair proceedings: secret witnesses, pressure on the defence, a coerced confession.",
        ),
    }
}

const SUMMARY_INTRO_UK: &str = "Вигадана справа для демонстрації системи: цієї людини та цих подій не існує.";
const SUMMARY_INTRO_EN: &str =
    "Fictional case for demonstrating the system: this person and these events do not exist.";

// ---------------------------------------------------------------------------------------------
// What becomes of a case
// ---------------------------------------------------------------------------------------------

/// Where a case ends up by the end of the history.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Outcome {
    /// Listed and still held.
    Listed,
    /// Endorsed by its opener only: one endorsement short of the listing quorum.
    UnderReview,
    /// Listed, then released (mostly in an exchange).
    Released,
    /// Listed, released, and detained again.
    Redetained,
    /// Listed, then died in custody.
    Died,
    /// Listed, then excluded by `exclusion_quorum` members.
    Excluded,
    /// Listed; one or two members raised an exclusion and withdrew it later.
    ExclusionWithdrawn,
    /// Listed; one member raised an exclusion that stands alone (below the quorum).
    ExclusionBelowQuorum,
    /// Listed, then one of two endorsements was withdrawn.
    Delisted,
}

/// The outcomes of `cases` cases in random order, in realistic proportions, each rare outcome at
/// least once when there are enough cases.
fn outcome_deck(cases: usize, rng: &mut SplitMix64) -> Vec<Outcome> {
    let share = |per_mille: usize, at_least: usize| ((cases * per_mille + 500) / 1000).max(at_least);
    let wanted = [
        (Outcome::UnderReview, share(150, 1)),
        (Outcome::Released, share(75, 1)),
        (Outcome::Redetained, share(15, 1)),
        (Outcome::Died, share(15, 1)),
        (Outcome::Excluded, share(10, 1)),
        (Outcome::ExclusionWithdrawn, share(15, 1)),
        (Outcome::ExclusionBelowQuorum, share(10, 0)),
        (Outcome::Delisted, share(10, 0)),
    ];
    let mut deck = Vec::with_capacity(cases);
    // With very few cases, keep about two in three listed and spend the rest on rare outcomes.
    let rare_budget = if cases >= 20 { cases } else { cases / 3 };
    'fill: for (outcome, count) in wanted {
        for _ in 0..count {
            if deck.len() >= rare_budget {
                break 'fill;
            }
            deck.push(outcome);
        }
    }
    deck.resize(cases, Outcome::Listed);
    rng.shuffle(&mut deck);
    deck
}

// ---------------------------------------------------------------------------------------------
// Planning: what each member does, and when
// ---------------------------------------------------------------------------------------------

/// Something a member does, before it becomes an event.
enum Action {
    Open { case: usize, facts: Box<Facts> },
    Update { case: usize, facts: Option<Box<Facts>>, clear: Vec<FactField> },
    Assert { case: usize, criterion: Criterion, with_reasoning: bool },
    Withdraw { case: usize, criterion: Criterion },
    Note { case: usize, sign: Sign },
    Endorse { case: usize },
    Unendorse { case: usize },
    RaiseExclusion { case: usize, ground: ExclusionGround },
    WithdrawExclusion { case: usize },
    Release { case: usize, date: Date, circumstances: ReleaseCircumstances },
    Detain { case: usize, date: Date },
    Die { case: usize, date: Date },
    ProposePolicy { proposal: usize, policy: Policy },
    ApprovePolicy { proposal: usize },
}

/// An action at a planned instant (seconds since 1970), by a member (index in [`DEMO_MEMBERS`]).
struct Planned {
    time: i64,
    order: u64,
    org: usize,
    action: Action,
}

/// Collects the planned actions of every case and proposal.
struct Planner {
    actions: Vec<Planned>,
    next_order: u64,
    /// The genesis's `created`.
    created: Timestamp,
    /// The genesis's `created`, in seconds since 1970.
    start: i64,
    /// No action is planned after this instant; the writer's last second follows a few days later.
    plan_end: i64,
    /// Days on which prisoner exchanges happen, ascending.
    exchange_days: Vec<i64>,
}

/// Days kept free at the end of the history: the squeeze into working hours and one second per
/// event can push the last events a little later than planned.
const PLAN_MARGIN_DAYS: i64 = 5;
/// How many prisoner exchanges happen during the history.
const EXCHANGES: usize = 9;

impl Planner {
    fn new(created: Timestamp, rng: &mut SplitMix64) -> Self {
        let start = created.unix_seconds();
        let plan_end = start + (DEMO_HISTORY_DAYS - PLAN_MARGIN_DAYS) * SECONDS_PER_DAY;
        let first_day = day_of(start);
        let mut exchange_days: Vec<i64> = (0..EXCHANGES).map(|_| first_day + rng.between(45, 700)).collect();
        exchange_days.sort_unstable();
        Self { actions: Vec::new(), next_order: 0, created, start, plan_end, exchange_days }
    }

    /// The date of a day number (days since 1970-01-01).
    fn date(&self, day: i64) -> Result<Date, DemoError> {
        date_of_day(day).ok_or(DemoError::TimeOutOfRange { created: self.created })
    }

    fn push(&mut self, at: i64, org: usize, action: Action) {
        self.actions.push(Planned { time: working_time(at), order: self.next_order, org, action });
        self.next_order += 1;
    }

    /// The first exchange at least `after_days` days after `at`, with a small chance of
    /// missing it and waiting for the next.
    fn exchange_after(&self, rng: &mut SplitMix64, at: i64, after_days: i64) -> Option<i64> {
        let earliest = day_of(at) + after_days;
        let mut candidates = self.exchange_days.iter().filter(|&&day| day >= earliest);
        let first = candidates.next().copied();
        let day = if rng.chance(30) { candidates.next().copied().or(first) } else { first }?;
        let instant = day * SECONDS_PER_DAY + rng.between(0, SECONDS_PER_DAY - 1);
        (instant < self.plan_end).then_some(instant)
    }
}

/// A point in a case's timeline that moves forward.
#[derive(Clone, Copy)]
struct Clock {
    at: i64,
}

impl Clock {
    /// Moves forward by a random span in `low..=high` seconds; refuses (returns `None`, not
    /// moving) if that passes `end`. For steps a case may well not have reached yet.
    fn optional(&mut self, rng: &mut SplitMix64, low: i64, high: i64, end: i64) -> Option<i64> {
        let next = self.at + rng.between(low, high);
        if next > end {
            return None;
        }
        self.at = next;
        Some(next)
    }

    /// Moves forward by a random span in `low..=high` seconds, shortened near `end` so that it
    /// never passes it by more than a few seconds. For steps the case's outcome needs.
    fn required(&mut self, rng: &mut SplitMix64, low: i64, high: i64, end: i64) -> i64 {
        let room = ((end - self.at) / 4).max(1);
        self.at += rng.between(low, high).min(room).max(1);
        self.at
    }
}

const HOUR: i64 = SECONDS_PER_HOUR;
const DAY: i64 = SECONDS_PER_DAY;

/// Members who endorse and assess most often (in [`DEMO_MEMBERS`] order).
const ENDORSER_WEIGHTS: [u32; 8] = [15, 10, 12, 12, 12, 10, 10, 19];
const ARPP: usize = 0;
const UHHRU: usize = 4;
const CCL: usize = 5;
const PLATFORM: usize = 7;

/// Members in the order they take up a case: the opener first, then a weighted random order.
fn members_for_case(rng: &mut SplitMix64, opener: usize) -> Vec<usize> {
    let mut order = vec![opener];
    let mut weights = ENDORSER_WEIGHTS;
    weights[opener] = 0;
    while order.len() < DEMO_MEMBERS.len() {
        let next = rng.weighted(&weights);
        weights[next] = 0;
        order.push(next);
    }
    order
}

/// The stage a case has reached when it is opened, from how long the person has been held.
fn stage_after(kind: CaseKind, held_days: i64, rng: &mut SplitMix64) -> Stage {
    if kind == CaseKind::Incommunicado {
        return Stage::WhereaboutsUnknown;
    }
    match held_days {
        ..200 => Stage::PreTrial,
        200..450 => Stage::Trial,
        450..560 => {
            if rng.chance(50) {
                Stage::Appeal
            } else {
                Stage::Sentenced
            }
        }
        _ => Stage::ServingSentence,
    }
}

fn pretrial_prison(rng: &mut SplitMix64, profile: &RegionProfile, kind: CaseKind, stage: Stage) -> String {
    let military_court = matches!(kind, CaseKind::HizbUtTahrir | CaseKind::CrimeanSolidarity | CaseKind::Saboteur);
    if military_court && stage != Stage::PreTrial && profile.region != Region::Russia && rng.chance(60) {
        ROSTOV_PRETRIAL_PRISON.to_owned()
    } else {
        rng.pick(profile.pretrial_prisons).to_owned()
    }
}

/// Plans everything that happens to one case.
fn plan_case(planner: &mut Planner, rng: &mut SplitMix64, case: usize, outcome: Outcome) -> Result<(), DemoError> {
    let start = planner.start;
    let end = planner.plan_end;
    // More than half the cases come in during the first weeks, as members enter their files;
    // the rest arrive over the two years.
    // Outcomes that take time mostly befall cases entered early.
    let takes_time = matches!(
        outcome,
        Outcome::Released | Outcome::Redetained | Outcome::Died | Outcome::Excluded | Outcome::ExclusionWithdrawn
    );
    let opened_at = if rng.chance(if takes_time { 85 } else { 55 }) {
        start + rng.between(DAY, 75 * DAY)
    } else if takes_time {
        start + rng.between(75 * DAY, 450 * DAY)
    } else {
        start + rng.between(75 * DAY, (DEMO_HISTORY_DAYS - 40) * DAY)
    };
    let opened_day = day_of(opened_at);
    let region_weights =
        possible_weights(REGIONS.iter().map(|profile| (profile.occupied_since, profile.weight)), opened_day);
    let profile = &REGIONS[rng.weighted(&region_weights)];
    let mut kind = pick_kind(rng, profile.region, opened_day);
    let exclusion = matches!(outcome, Outcome::Excluded | Outcome::ExclusionWithdrawn | Outcome::ExclusionBelowQuorum);
    if exclusion && matches!(kind, CaseKind::HizbUtTahrir | CaseKind::CrimeanSolidarity) {
        // Doubts about a case are about conduct, not faith: exclusions concern other kinds.
        kind = rng.pick(&[CaseKind::Spy, CaseKind::Saboteur, CaseKind::PlantedEvidence]);
    }
    let crimean = matches!(profile.region, Region::Crimea | Region::Sevastopol);
    let crimean_tatar =
        matches!(kind, CaseKind::HizbUtTahrir | CaseKind::CrimeanSolidarity) || (crimean && rng.chance(35));
    let female_percent = match kind {
        CaseKind::HizbUtTahrir => 0,
        CaseKind::CrimeanSolidarity => 8,
        _ => 16,
    };
    let gender = if rng.chance(female_percent) { Gender::Female } else { Gender::Male };
    let person = make_person(rng, crimean_tatar, gender);

    // Detention: after the region's occupation and the kind's first cases, before the opening;
    // recent years are more likely.
    let (year, month, day) = profile.occupied_since;
    let (kind_year, kind_month, kind_day) = kind.since();
    let earliest = day_number(year, month, day).max(day_number(kind_year, kind_month, kind_day));
    let latest = opened_day - 10;
    let earliest = earliest.min(latest - 60);
    let mut detained_day = rng.between(earliest, latest);
    if rng.chance(50) {
        detained_day = detained_day.max(rng.between(earliest, latest));
    }
    let detention_date = planner.date(detained_day)?;
    let held_days = opened_day - detained_day;
    let age = rng.between(19, 66);
    let birth_year = u16::try_from(i64::from(detention_date.year()) - age).unwrap_or(1970);
    let birth_date = if rng.chance(30) {
        let month = u8::try_from(rng.between(1, 12)).unwrap_or(1);
        let day = u8::try_from(rng.between(1, 28)).unwrap_or(1);
        Date::new(birth_year, month, day)
    } else {
        None
    };
    let (town_uk, town_en) = rng.pick(profile.towns);

    let mut stage = stage_after(kind, held_days, rng);
    let mut sentence = kind.sentence(rng, held_days);
    // Some releases come at the end of the term: give those a term that ends in the history.
    let mut term_release = false;
    // People detained again were first released at the end of their term (not exchanged).
    let ends_term = match outcome {
        Outcome::Released => rng.chance(12),
        Outcome::Redetained => true,
        _ => false,
    };
    if ends_term && kind != CaseKind::Incommunicado {
        let latest = end - 30 * DAY;
        let share = if outcome == Outcome::Redetained { 5 } else { 9 };
        let target = opened_at + rng.between(200 * DAY, ((latest - opened_at) * share / 10).max(200 * DAY));
        if target < latest {
            let total_days = day_of(target) - detained_day;
            let years = total_days / 365;
            let months = (total_days - years * 365 - years / 4) / 30;
            sentence = sentence_of(years, months, sentence.regime.unwrap_or(Regime::General));
            term_release = true;
        }
    }
    let charges = kind.charges(rng);
    let (story_uk, story_en) = kind.story();
    let mut facts = Facts {
        birth_date,
        birth_year: Some(birth_year),
        case_group: kind.group().and_then(|(group, percent)| rng.chance(percent).then(|| group.to_owned())),
        charges: Some(charges),
        citizenship: Some(vec!["UA".to_owned()]),
        detention_date: Some(detention_date),
        detention_place: Some(town_uk.to_owned()),
        gender: Some(person.gender),
        name_en: Some(person.name_en),
        name_ru: Some(person.name_ru),
        name_uk: Some(person.name_uk),
        region: Some(profile.region),
        stage: Some(stage),
        summary_en: Some(format!(
            "{SUMMARY_INTRO_EN} {story_en} Detained on {} in {town_en}.",
            date_en(detention_date)
        )),
        summary_uk: Some(format!("{SUMMARY_INTRO_UK} {story_uk} Затримано {}, {town_uk}.", date_uk(detention_date))),
        ..Facts::default()
    };
    match stage {
        Stage::WhereaboutsUnknown => facts.can_receive_letters = Some(false),
        Stage::PreTrial | Stage::Trial => facts.place_of_detention = Some(pretrial_prison(rng, profile, kind, stage)),
        Stage::Appeal | Stage::Sentenced => {
            facts.place_of_detention = Some(pretrial_prison(rng, profile, kind, stage));
            facts.sentence = Some(sentence.clone());
        }
        Stage::ServingSentence | Stage::CompulsoryTreatment | Stage::Other => {
            let (place, address) = penal_facility(rng, sentence.regime.unwrap_or(Regime::Strict));
            facts.place_of_detention = Some(place);
            facts.sentence = Some(sentence.clone());
            if rng.chance(60) {
                facts.postal_address = Some(address);
                facts.can_receive_letters = Some(true);
            }
        }
    }

    let opener = rng.weighted(&profile.openers);
    let members = members_for_case(rng, opener);
    let criteria = kind.criteria();
    let signs = kind.signs();
    planner.push(opened_at, opener, Action::Open { case, facts: Box::new(facts) });

    // The opener assesses the case: a criterion with reasoning, a sign or two, an endorsement.
    let mut clock = Clock { at: opened_at };
    let at = clock.required(rng, 2 * HOUR, 3 * DAY, end);
    planner.push(at, opener, Action::Assert { case, criterion: criteria[0], with_reasoning: true });
    for (index, &sign) in signs.iter().enumerate().take(2) {
        if rng.chance(if index == 0 { 85 } else { 40 }) {
            let at = clock.required(rng, 5 * 60, HOUR, end);
            planner.push(at, opener, Action::Note { case, sign });
        }
    }
    let at = clock.required(rng, 5 * 60, HOUR, end);
    planner.push(at, opener, Action::Endorse { case });

    let mut endorsers = vec![opener];
    if outcome == Outcome::UnderReview {
        // Others look at it, but nobody else endorses yet.
        if rng.chance(40)
            && let Some(at) = clock.optional(rng, 3 * DAY, 60 * DAY, end)
        {
            planner.push(at, members[1], Action::Note { case, sign: rng.pick(signs) });
        }
    } else {
        // A second member agrees: the case reaches the listing quorum.
        let second = members[1];
        let at = clock.required(rng, 2 * DAY, 40 * DAY, end);
        let criterion = if rng.chance(50) { criteria[0] } else { rng.pick(criteria) };
        planner.push(at, second, Action::Assert { case, criterion, with_reasoning: rng.chance(40) });
        let at = clock.required(rng, 10 * 60, 2 * HOUR, end);
        planner.push(at, second, Action::Endorse { case });
        endorsers.push(second);
        if outcome != Outcome::Delisted {
            for (&member, percent) in members[2..].iter().zip([40, 15]) {
                if !rng.chance(percent) {
                    break;
                }
                let Some(at) = clock.optional(rng, DAY, 60 * DAY, end) else {
                    break;
                };
                if rng.chance(50) {
                    planner.push(
                        at,
                        member,
                        Action::Assert { case, criterion: rng.pick(criteria), with_reasoning: false },
                    );
                }
                planner.push(at + 600, member, Action::Endorse { case });
                endorsers.push(member);
            }
        }
    }
    let assessed_at = clock.at;

    // Signs noted by others over time; health at risk for some.
    if rng.chance(30) {
        let mut later = clock;
        if let Some(at) = later.optional(rng, DAY, 120 * DAY, end) {
            planner.push(at, members[rng.index(3) + 1], Action::Note { case, sign: rng.pick(signs) });
        }
    }
    if rng.chance(6) && outcome != Outcome::UnderReview {
        let mut later = clock;
        if let Some(at) = later.optional(rng, 10 * DAY, 300 * DAY, end) {
            planner.push(at, members[rng.index(2)], Action::Note { case, sign: Sign::HealthAtRisk });
        }
    }
    // A member that asserted a second criterion may withdraw it later.
    if outcome != Outcome::UnderReview && rng.chance(5) {
        let mut later = clock;
        if let Some(at) = later.optional(rng, 20 * DAY, 200 * DAY, end) {
            let member = endorsers[endorsers.len() - 1];
            planner.push(at, member, Action::Assert { case, criterion: Criterion::C, with_reasoning: true });
            if let Some(at) = later.optional(rng, 30 * DAY, 200 * DAY, end) {
                planner.push(at, member, Action::Withdraw { case, criterion: Criterion::C });
            }
        }
    }

    // When the outcome happens; the case moves through the courts until then.
    let (outcome_at, release) = match outcome {
        Outcome::Listed | Outcome::UnderReview | Outcome::ExclusionBelowQuorum => (end, None),
        Outcome::Released | Outcome::Redetained => {
            let release_by = if outcome == Outcome::Redetained { assessed_at + (end - assessed_at) / 2 } else { end };
            let exchange = if outcome == Outcome::Released {
                planner.exchange_after(rng, assessed_at, 20).filter(|&at| at <= release_by)
            } else {
                None
            };
            let term_ends = facts_term_end(detained_day, &sentence, kind)
                .map(|day| day * DAY + rng.between(0, DAY - 1))
                .filter(|&at| at > assessed_at + DAY && at <= release_by);
            match (exchange, term_ends) {
                (_, Some(term_ends)) if term_release || exchange.is_none_or(|exchange| term_ends < exchange) => {
                    (term_ends, Some(ReleaseCircumstances::EndOfTerm))
                }
                (Some(exchange), _) => (exchange, Some(ReleaseCircumstances::Exchange)),
                _ => {
                    let at = assessed_at + rng.between(DAY, ((release_by - assessed_at) / 2).max(DAY));
                    let circumstances = if outcome == Outcome::Redetained {
                        ReleaseCircumstances::Other
                    } else {
                        rng.pick(&[
                            ReleaseCircumstances::Exchange,
                            ReleaseCircumstances::Exchange,
                            ReleaseCircumstances::Pardon,
                            ReleaseCircumstances::Other,
                        ])
                    };
                    (at, Some(circumstances))
                }
            }
        }
        Outcome::Died | Outcome::Excluded | Outcome::ExclusionWithdrawn | Outcome::Delisted => {
            (assessed_at + rng.between(10 * DAY, ((end - assessed_at) / 2).max(10 * DAY)), None)
        }
    };
    if outcome == Outcome::Died {
        // The coalition warned of the threat to health a while before the death.
        let at = assessed_at + (outcome_at - 7 * DAY - assessed_at).max(HOUR) * rng.between(30, 90) / 100;
        planner.push(at, members[rng.index(2)], Action::Note { case, sign: Sign::HealthAtRisk });
    }
    let progress_end = outcome_at.min(end);
    let mut progress = Clock { at: assessed_at };
    while let Some(at) = progress.optional(rng, 60 * DAY, 240 * DAY, progress_end) {
        let author = if rng.chance(60) { opener } else { rng.pick(&endorsers) };
        let mut update = Facts::default();
        match stage {
            Stage::WhereaboutsUnknown => {
                if !rng.chance(50) {
                    break;
                }
                stage = Stage::PreTrial;
                update.place_of_detention = Some(rng.pick(profile.pretrial_prisons).to_owned());
                update.charges = Some(CaseKind::Spy.charges(rng));
                update.can_receive_letters = Some(true);
            }
            Stage::PreTrial => {
                stage = Stage::Trial;
                if rng.chance(40) {
                    update.place_of_detention = Some(pretrial_prison(rng, profile, kind, stage));
                }
            }
            Stage::Trial => {
                stage = if rng.chance(60) { Stage::Sentenced } else { Stage::Appeal };
                update.sentence = Some(sentence.clone());
            }
            Stage::Sentenced | Stage::Appeal => {
                stage = Stage::ServingSentence;
                let (place, address) = penal_facility(rng, sentence.regime.unwrap_or(Regime::Strict));
                update.place_of_detention = Some(place);
                if rng.chance(60) {
                    update.postal_address = Some(address);
                    update.can_receive_letters = Some(true);
                }
            }
            Stage::ServingSentence | Stage::CompulsoryTreatment | Stage::Other => {
                // Now and then a transfer to another colony.
                if !rng.chance(25) {
                    break;
                }
                let (place, address) = penal_facility(rng, sentence.regime.unwrap_or(Regime::Strict));
                update.place_of_detention = Some(place);
                update.postal_address = Some(address);
                planner.push(at, author, Action::Update { case, facts: Some(Box::new(update)), clear: Vec::new() });
                break;
            }
        }
        update.stage = Some(stage);
        planner.push(at, author, Action::Update { case, facts: Some(Box::new(update)), clear: Vec::new() });
    }

    plan_outcome(
        planner,
        rng,
        OutcomeContext { case, outcome, outcome_at, release, opener, endorsers, members, profile },
    )
}

/// What [`plan_outcome`] needs to know of a case.
struct OutcomeContext {
    case: usize,
    outcome: Outcome,
    outcome_at: i64,
    /// How the person is released, for the outcomes with a release.
    release: Option<ReleaseCircumstances>,
    opener: usize,
    endorsers: Vec<usize>,
    members: Vec<usize>,
    profile: &'static RegionProfile,
}

/// The fields that stop being true once a person is no longer held where they were.
const LETTER_FIELDS: [FactField; 3] =
    [FactField::CanReceiveLetters, FactField::PlaceOfDetention, FactField::PostalAddress];

fn plan_outcome(planner: &mut Planner, rng: &mut SplitMix64, context: OutcomeContext) -> Result<(), DemoError> {
    let OutcomeContext { case, outcome, outcome_at, release, opener, endorsers, members, profile } = context;
    let end = planner.plan_end;
    let mut clock = Clock { at: outcome_at };
    let non_endorsers: Vec<usize> = members.iter().copied().filter(|member| !endorsers.contains(member)).collect();
    match outcome {
        Outcome::Listed | Outcome::UnderReview => {}
        Outcome::Released | Outcome::Redetained => {
            let circumstances = release.unwrap_or(ReleaseCircumstances::Exchange);
            let released_day = day_of(outcome_at);
            let date = planner.date(released_day)?;
            // Relatives or the platform record it within hours or days.
            let recorder = if rng.chance(50) { ARPP } else { rng.pick(&[PLATFORM, opener]) };
            let at = clock.required(rng, HOUR, 2 * DAY, end);
            planner.push(at, recorder, Action::Release { case, date, circumstances });
            if let Some(at) = clock.optional(rng, HOUR, 10 * DAY, end) {
                planner.push(at, opener, Action::Update { case, facts: None, clear: LETTER_FIELDS.to_vec() });
            }
            if outcome == Outcome::Redetained {
                let at = clock.required(rng, 60 * DAY, 300 * DAY, end);
                let detained_day = (day_of(at) - rng.between(0, 5)).max(released_day + 1).min(day_of(at));
                let date = planner.date(detained_day)?;
                planner.push(at, rng.pick(&endorsers), Action::Detain { case, date });
                if let Some(at) = clock.optional(rng, HOUR, 20 * DAY, end) {
                    let update = Facts {
                        stage: Some(Stage::PreTrial),
                        place_of_detention: Some(rng.pick(profile.pretrial_prisons).to_owned()),
                        ..Facts::default()
                    };
                    planner.push(at, opener, Action::Update { case, facts: Some(Box::new(update)), clear: Vec::new() });
                }
            }
        }
        Outcome::Died => {
            let at = clock.required(rng, HOUR, DAY, end);
            let died_day = day_of(at) - rng.between(0, 3);
            let date = planner.date(died_day)?;
            planner.push(at, if rng.chance(50) { ARPP } else { opener }, Action::Die { case, date });
            if let Some(at) = clock.optional(rng, HOUR, 10 * DAY, end) {
                planner.push(at, opener, Action::Update { case, facts: None, clear: LETTER_FIELDS.to_vec() });
            }
        }
        Outcome::Excluded => {
            let ground = rng.pick(&[
                ExclusionGround::OccupationContribution,
                ExclusionGround::OccupationContribution,
                ExclusionGround::GeneralCrime,
                ExclusionGround::WarCrimes,
            ]);
            for &member in non_endorsers.iter().take(DEMO_POLICY.exclusion_quorum as usize) {
                let at = clock.required(rng, 2 * DAY, 40 * DAY, end);
                planner.push(at, member, Action::RaiseExclusion { case, ground });
            }
        }
        Outcome::ExclusionWithdrawn => {
            let raisers: Vec<usize> = non_endorsers.iter().copied().take(rng.index(2) + 1).collect();
            let ground = rng.pick(&[ExclusionGround::GeneralCrime, ExclusionGround::OccupationContribution]);
            for &member in &raisers {
                let at = clock.required(rng, 2 * DAY, 30 * DAY, end);
                planner.push(at, member, Action::RaiseExclusion { case, ground });
            }
            for &member in &raisers {
                let at = clock.required(rng, 10 * DAY, 90 * DAY, end);
                planner.push(at, member, Action::WithdrawExclusion { case });
            }
        }
        Outcome::ExclusionBelowQuorum => {
            if let Some(&member) = non_endorsers.first()
                && let Some(at) = clock.optional(rng, 30 * DAY, 400 * DAY, end)
            {
                planner.push(at, member, Action::RaiseExclusion { case, ground: ExclusionGround::GeneralCrime });
            }
        }
        Outcome::Delisted => {
            let member = endorsers[endorsers.len() - 1];
            let at = clock.required(rng, DAY, 10 * DAY, end);
            planner.push(at, member, Action::Unendorse { case });
        }
    }
    Ok(())
}

/// The governance of the demo: an enacted policy change, and a later proposal still open.
fn plan_governance(planner: &mut Planner, rng: &mut SplitMix64) {
    let start = planner.start;
    let end = planner.plan_end;
    // Monthly editions wait too long for a fifth signature: lower the edition quorum to four.
    let enacted = Policy { edition_quorum: 4, ..DEMO_POLICY };
    let mut clock = Clock { at: start + rng.between(200 * DAY, 260 * DAY) };
    planner.push(clock.at, PLATFORM, Action::ProposePolicy { proposal: 0, policy: enacted });
    let mut approvers: Vec<usize> = (0..DEMO_MEMBERS.len()).filter(|&member| member != PLATFORM).collect();
    rng.shuffle(&mut approvers);
    let needed = DEMO_POLICY.governance_quorum as usize - 1;
    for &member in approvers.iter().take(needed) {
        let at = clock.required(rng, 4 * HOUR, 12 * DAY, end);
        planner.push(at, member, Action::ApprovePolicy { proposal: 0 });
    }
    // Near the end, a proposal to raise the exclusion quorum, still under discussion.
    let stricter = Policy { exclusion_quorum: 4, ..enacted };
    let mut clock = Clock { at: end - rng.between(20 * DAY, 30 * DAY) };
    planner.push(clock.at, CCL, Action::ProposePolicy { proposal: 1, policy: stricter });
    let at = clock.required(rng, HOUR, 3 * DAY, end);
    planner.push(at, UHHRU, Action::ApprovePolicy { proposal: 1 });
}

// ---------------------------------------------------------------------------------------------
// A mirror of the projection rules, so that every event written has an effect
// ---------------------------------------------------------------------------------------------

/// The parts of a case the rules look at, as the projector will see them (every event names the
/// heads of all other feeds, so the linear order is the order of writing).
#[derive(Default)]
struct CaseMirror {
    id: Option<EventId>,
    /// Bit per member.
    endorsements: u8,
    /// Per criterion, bit per member.
    claims: [u8; 5],
    /// Per sign, bit per member.
    signs: [u8; 6],
    exclusions: [Option<ExclusionGround>; 8],
    released: bool,
    died: bool,
    /// Bit per [`FactField`] set.
    fields: u32,
}

#[derive(Default)]
struct ProposalMirror {
    id: Option<EventId>,
    approvals: u8,
    open: bool,
}

struct RulesMirror {
    cases: Vec<CaseMirror>,
    proposals: Vec<ProposalMirror>,
}

/// What an event creates, so that later events can name it.
enum Creates {
    Nothing,
    Case(usize),
    Proposal(usize),
}

fn bit(member: usize) -> u8 {
    1 << member
}

fn field_bit(field: FactField) -> u32 {
    1 << FactField::ALL.iter().position(|&known| known == field).unwrap_or(0)
}

fn fields_bits(facts: &Facts) -> u32 {
    facts.fields_set().into_iter().map(field_bit).fold(0, |bits, field| bits | field)
}

fn criterion_index(criterion: Criterion) -> usize {
    Criterion::ALL.iter().position(|&known| known == criterion).unwrap_or(0)
}

fn sign_index(sign: Sign) -> usize {
    Sign::ALL.iter().position(|&known| known == sign).unwrap_or(0)
}

impl RulesMirror {
    fn new(cases: usize) -> Self {
        Self {
            cases: (0..cases).map(|_| CaseMirror::default()).collect(),
            proposals: (0..2).map(|_| ProposalMirror::default()).collect(),
        }
    }

    /// The body of the event for `action` by `member`, or `None` if the rules would give it no
    /// effect (the event is then not written). Updates the mirror as the projector will.
    fn apply(&mut self, member: usize, action: Action) -> Option<(Body, Creates)> {
        let approvals_needed = DEMO_POLICY.governance_quorum;
        match action {
            Action::Open { case, facts } => {
                let mirror = self.cases.get_mut(case)?;
                mirror.fields = fields_bits(&facts);
                Some((Body::CaseOpened(CaseOpened { facts: *facts }), Creates::Case(case)))
            }
            Action::ProposePolicy { proposal, policy } => {
                let mirror = self.proposals.get_mut(proposal)?;
                mirror.approvals = bit(member);
                mirror.open = true;
                Some((Body::PolicyProposed(PolicyProposed { policy }), Creates::Proposal(proposal)))
            }
            Action::ApprovePolicy { proposal } => {
                let mirror = self.proposals.get_mut(proposal)?;
                let id = mirror.id?;
                if !mirror.open || mirror.approvals & bit(member) != 0 {
                    return None;
                }
                mirror.approvals |= bit(member);
                if mirror.approvals.count_ones() >= approvals_needed {
                    mirror.open = false;
                }
                Some((Body::PolicyApproved(PolicyApproved { proposal: id }), Creates::Nothing))
            }
            case_action => self.apply_to_case(member, case_action).map(|body| (body, Creates::Nothing)),
        }
    }

    fn apply_to_case(&mut self, member: usize, action: Action) -> Option<Body> {
        let own = bit(member);
        let body = match action {
            Action::Update { case, facts, clear } => {
                let mirror = self.cases.get_mut(case)?;
                let case = mirror.id?;
                let set = facts.as_deref().map_or(0, fields_bits);
                let mut clear: Vec<FactField> =
                    clear.into_iter().filter(|&field| mirror.fields & field_bit(field) != 0).collect();
                clear.retain(|&field| set & field_bit(field) == 0);
                clear.sort_unstable();
                clear.dedup();
                if set == 0 && clear.is_empty() {
                    return None;
                }
                mirror.fields = (mirror.fields | set) & !clear.iter().fold(0, |bits, &field| bits | field_bit(field));
                Body::CaseUpdated(CaseUpdated {
                    case,
                    clear: (!clear.is_empty()).then_some(clear),
                    facts: facts.filter(|_| set != 0).map(|facts| *facts),
                })
            }
            Action::Assert { case, criterion, with_reasoning } => {
                let mirror = self.cases.get_mut(case)?;
                let case = mirror.id?;
                let claims = &mut mirror.claims[criterion_index(criterion)];
                if *claims & own != 0 {
                    return None;
                }
                *claims |= own;
                let (reasoning_uk, reasoning_en) = reasoning(criterion);
                Body::CriterionAsserted(CriterionAsserted {
                    case,
                    criterion,
                    reasoning_en: with_reasoning.then(|| reasoning_en.to_owned()),
                    reasoning_uk: with_reasoning.then(|| reasoning_uk.to_owned()),
                })
            }
            Action::Withdraw { case, criterion } => {
                let mirror = self.cases.get_mut(case)?;
                let case = mirror.id?;
                let index = criterion_index(criterion);
                // Withdraw only an assertion this member made, and never the last one standing.
                let others_stand = mirror.claims.iter().enumerate().any(|(other, &claims)| {
                    let others = if other == index { claims & !own } else { claims };
                    others != 0
                });
                if mirror.claims[index] & own == 0 || !others_stand {
                    return None;
                }
                mirror.claims[index] &= !own;
                Body::CriterionWithdrawn(CriterionWithdrawn { case, criterion })
            }
            Action::Note { case, sign } => {
                let mirror = self.cases.get_mut(case)?;
                let case = mirror.id?;
                let noted = &mut mirror.signs[sign_index(sign)];
                if *noted & own != 0 {
                    return None;
                }
                *noted |= own;
                Body::SignNoted(SignNoted { case, sign })
            }
            Action::Endorse { case } => {
                let mirror = self.cases.get_mut(case)?;
                let case = mirror.id?;
                if mirror.endorsements & own != 0 {
                    return None;
                }
                mirror.endorsements |= own;
                Body::PersonAdded(PersonAdded { case })
            }
            Action::Unendorse { case } => {
                let mirror = self.cases.get_mut(case)?;
                let case = mirror.id?;
                if mirror.endorsements & own == 0 {
                    return None;
                }
                mirror.endorsements &= !own;
                Body::PersonRemoved(PersonRemoved { case })
            }
            Action::RaiseExclusion { case, ground } => {
                let mirror = self.cases.get_mut(case)?;
                let case = mirror.id?;
                let raised = mirror.exclusions.get_mut(member)?;
                if *raised == Some(ground) {
                    return None;
                }
                *raised = Some(ground);
                Body::ExclusionRaised(ExclusionRaised { case, ground })
            }
            Action::WithdrawExclusion { case } => {
                let mirror = self.cases.get_mut(case)?;
                let case = mirror.id?;
                mirror.exclusions.get_mut(member)?.take()?;
                Body::ExclusionWithdrawn(ExclusionWithdrawn { case })
            }
            Action::Release { case, date, circumstances } => {
                let mirror = self.cases.get_mut(case)?;
                let case = mirror.id?;
                if mirror.released || mirror.died {
                    return None;
                }
                mirror.released = true;
                Body::PersonReleased(PersonReleased { case, circumstances, date })
            }
            Action::Detain { case, date } => {
                let mirror = self.cases.get_mut(case)?;
                let case = mirror.id?;
                if !mirror.released || mirror.died {
                    return None;
                }
                mirror.released = false;
                Body::PersonDetained(PersonDetained { case, date })
            }
            Action::Die { case, date } => {
                let mirror = self.cases.get_mut(case)?;
                let case = mirror.id?;
                if mirror.died {
                    return None;
                }
                mirror.died = true;
                Body::PersonDied(PersonDied { case, date })
            }
            Action::Open { .. } | Action::ProposePolicy { .. } | Action::ApprovePolicy { .. } => return None,
        };
        Some(body)
    }

    /// Remembers the id of a case or proposal just written.
    fn record(&mut self, creates: Creates, id: EventId) {
        match creates {
            Creates::Nothing => {}
            Creates::Case(case) => {
                if let Some(mirror) = self.cases.get_mut(case) {
                    mirror.id = Some(id);
                }
            }
            Creates::Proposal(proposal) => {
                if let Some(mirror) = self.proposals.get_mut(proposal) {
                    mirror.id = Some(id);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Writing: seq, prev, deps and time, then the normal signing path
// ---------------------------------------------------------------------------------------------

struct Writer<'k> {
    ledger: LedgerId,
    slugs: Vec<OrgSlug>,
    keys: &'k [SignerKey],
    heads: Vec<Option<EventId>>,
    seqs: Vec<u64>,
    /// The time of the last event written (the genesis's `created` before the first), in
    /// seconds since 1970.
    last_time: i64,
    end: i64,
    events: Vec<SignedEvent>,
}

impl<'k> Writer<'k> {
    fn new(ledger: LedgerId, keys: &'k [SignerKey], start: i64, end: i64) -> Result<Self, DemoError> {
        let slugs = DEMO_MEMBERS
            .iter()
            .map(|(slug, _)| OrgSlug::parse(slug).map_err(DemoError::InvalidSlug))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            ledger,
            heads: vec![None; slugs.len()],
            seqs: vec![0; slugs.len()],
            slugs,
            keys,
            last_time: start,
            end,
            events: Vec::new(),
        })
    }

    /// Signs `body` as the next event of `member`'s feed, at the planned time or one second
    /// after the last event, whichever is later.
    fn write(&mut self, member: usize, planned: i64, body: Body) -> Result<EventId, DemoError> {
        let time = planned.max(self.last_time + 1);
        let out_of_time = || DemoError::OutOfTime { events: self.events.len() };
        if time > self.end {
            return Err(out_of_time());
        }
        let timestamp = Timestamp::from_unix_seconds(time).ok_or_else(out_of_time)?;
        let (Some(org), Some(key)) = (self.slugs.get(member), self.keys.get(member)) else {
            return Err(DemoError::KeyCount { expected: DEMO_MEMBERS.len(), found: self.keys.len() });
        };
        let mut deps: Vec<EventId> =
            self.heads.iter().enumerate().filter(|&(other, _)| other != member).filter_map(|(_, head)| *head).collect();
        deps.sort_unstable();
        let kind = body.kind().as_str();
        let event = Event {
            ledger: self.ledger,
            org: org.clone(),
            seq: self.seqs[member] + 1,
            prev: self.heads[member],
            time: timestamp,
            deps,
            body,
        };
        let signed = event.sign(key).map_err(|error| DemoError::Event { kind, error })?;
        let id = signed.id();
        self.heads[member] = Some(id);
        self.seqs[member] += 1;
        self.last_time = time;
        self.events.push(signed);
        Ok(id)
    }
}

// ---------------------------------------------------------------------------------------------
// Sealed demo records
// ---------------------------------------------------------------------------------------------

/// Cases of the demo that get sealed records (the member view of a case file), at most.
pub const DEMO_SEALED_CASES_MAX: usize = 24;

/// Fictional sensitive records for the first cases of `cases` (at most
/// [`DEMO_SEALED_CASES_MAX`]): relatives' and lawyers' contacts and health notes on every one, and
/// on every third a sensitive sign with its source, so the demo's member view shows what members
/// keep sealed. Contacts use reserved numbers and the `.invalid` domain; every text says it is
/// fictional. Deterministic: the same cases and seed give the same records.
pub fn demo_sealed_records(cases: &[EventId], seed: u64) -> Vec<SealedRecord> {
    const SENSITIVE_DEMO_SIGNS: [&str; 2] = ["defence_formations", "special_services_cooperation"];
    const RELATIONS: [&str; 4] = ["мати", "дружина", "брат", "донька"];
    const CONDITIONS: [&str; 3] = [
        "хронічна гіпертензія, ліки передають родичі",
        "після затримання — травма руки, медичної допомоги не надано",
        "цукровий діабет 2 типу, потребує інсуліну",
    ];
    let mut rng = SplitMix64::new(seed ^ 0x5ea1_ed00);
    let text = |value: String| SealedValue::Text(value);
    let mut records = Vec::new();
    for (index, case) in cases.iter().take(DEMO_SEALED_CASES_MAX).enumerate() {
        let relation = RELATIONS[rng.below(RELATIONS.len() as u64) as usize];
        let condition = CONDITIONS[rng.below(CONDITIONS.len() as u64) as usize];
        let mut fields = BTreeMap::new();
        fields.insert(
            "relatives_contact".to_owned(),
            text(format!("{relation}: +380 00 000 {:04} (вигаданий номер), relative-{index}@demo.invalid", index)),
        );
        fields.insert(
            "lawyer_contact".to_owned(),
            text(format!("адвокат (вигаданий): lawyer-{index}@demo.invalid, +380 00 111 {:04}", index)),
        );
        fields.insert("health".to_owned(), text(format!("{condition} (вигадані дані)")));
        records.push(SealedRecord { case: Some(*case), fields, kind: coalition_core::body::EventKind::CaseUpdated });
        if index % 3 == 0 {
            let sign = SENSITIVE_DEMO_SIGNS[rng.below(SENSITIVE_DEMO_SIGNS.len() as u64) as usize];
            let mut fields = BTreeMap::new();
            fields.insert("sign".to_owned(), text(sign.to_owned()));
            fields.insert(
                "sources".to_owned(),
                SealedValue::List(vec![
                    "свідчення родича (вигадане)".to_owned(),
                    "документ з матеріалів справи (вигаданий)".to_owned(),
                ]),
            );
            records.push(SealedRecord { case: Some(*case), fields, kind: coalition_core::body::EventKind::SignNoted });
        }
    }
    records
}
