//! Every string the public pages show, in Ukrainian and English, and how a request chooses its
//! language.
//!
//! **Why a `struct Strings` per language rather than fluent.** The pages need a few dozen fixed
//! strings, labels for the protocol's closed enumerations (regions, statuses, criteria...), and one
//! plural rule (Ukrainian one/few/many). A struct makes a missing translation a compile error (a
//! fluent bundle finds it at run time), costs nothing per request, and needs no new dependency;
//! the one grammatical rule fluent would bring is [`plural_uk`], a tested function. If the site
//! ever needs a third language with translators who do not read Rust, fluent becomes worth it.

use axum::http::HeaderMap;
use axum::http::header::ACCEPT_LANGUAGE;
use coalition_core::body::{ChargeCode, Criterion, EventKind, Regime, Region, ReleaseCircumstances, Sign, Stage};
use coalition_projector::Status;

/// A language of the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Lang {
    Uk,
    En,
}

impl Lang {
    /// The BCP 47 tag (`uk`, `en`), as in `?lang=` and `<html lang>`.
    pub(crate) const fn code(self) -> &'static str {
        match self {
            Self::Uk => "uk",
            Self::En => "en",
        }
    }

    /// The other language (the one the switch link offers).
    pub(crate) const fn other(self) -> Self {
        match self {
            Self::Uk => Self::En,
            Self::En => Self::Uk,
        }
    }

    /// The strings of this language.
    pub(crate) const fn strings(self) -> &'static Strings {
        match self {
            Self::Uk => &UK,
            Self::En => &EN,
        }
    }

    /// `?lang=uk|en` wins; otherwise `Accept-Language`: Ukrainian if it is preferred over English
    /// (a higher q, or the same q and listed first), else English.
    pub(crate) fn choose(query: Option<&str>, headers: &HeaderMap) -> Self {
        match query {
            Some("uk") => return Self::Uk,
            Some("en") => return Self::En,
            _ => {}
        }
        let Some(header) = headers.get(ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok()) else {
            return Self::En;
        };
        from_accept_language(header)
    }
}

/// Ukrainian when `header` prefers it over English, else English.
pub(crate) fn from_accept_language(header: &str) -> Lang {
    // (q in thousandths, position) of the best range for each language.
    let mut best: [Option<(u32, usize)>; 2] = [None, None];
    for (position, range) in header.split(',').take(ACCEPT_LANGUAGE_RANGES_MAX).enumerate() {
        let mut parts = range.split(';');
        let tag = parts.next().unwrap_or_default().trim();
        let primary = tag.split('-').next().unwrap_or_default();
        let index = if primary.eq_ignore_ascii_case("uk") {
            0
        } else if primary.eq_ignore_ascii_case("en") {
            1
        } else {
            continue;
        };
        let mut quality = 1000;
        for parameter in parts {
            if let Some(value) = parameter.trim().strip_prefix("q=") {
                quality = value.trim().parse::<f32>().map_or(0, |q| (q.clamp(0.0, 1.0) * 1000.0) as u32);
            }
        }
        if quality == 0 {
            continue;
        }
        let better = match best[index] {
            None => true,
            Some((q, _)) => quality > q,
        };
        if better {
            best[index] = Some((quality, position));
        }
    }
    match best {
        [Some(uk), Some(en)] if uk.0 > en.0 || (uk.0 == en.0 && uk.1 < en.1) => Lang::Uk,
        [Some(_), None] => Lang::Uk,
        _ => Lang::En,
    }
}

/// Most comma-separated ranges of `Accept-Language` looked at (a hostile header may hold many).
const ACCEPT_LANGUAGE_RANGES_MAX: usize = 32;

/// The Ukrainian plural form of `count` (CLDR: one 1, 21, 31…; few 2–4, 22–24…; many the rest).
pub(crate) fn plural_uk<'a>(count: u64, one: &'a str, few: &'a str, many: &'a str) -> &'a str {
    let (last, last_two) = (count % 10, count % 100);
    if last == 1 && last_two != 11 {
        one
    } else if (2..=4).contains(&last) && !(12..=14).contains(&last_two) {
        few
    } else {
        many
    }
}

/// "1 особа", "2 особи", "5 осіб"; "1 person", "2 people".
pub(crate) fn persons(lang: Lang, count: u64) -> String {
    match lang {
        Lang::Uk => format!("{count} {}", plural_uk(count, "особа", "особи", "осіб")),
        Lang::En if count == 1 => "1 person".to_owned(),
        Lang::En => format!("{count} people"),
    }
}

/// The headline: how many people are detained now.
pub(crate) fn headline(lang: Lang, count: u64) -> String {
    match lang {
        Lang::Uk => {
            let noun = plural_uk(count, "громадянин", "громадяни", "громадян");
            let participle = plural_uk(count, "позбавлений", "позбавлені", "позбавлені");
            format!("Щонайменше {count} {noun} України {participle} волі з політичних мотивів")
        }
        Lang::En if count == 1 => {
            "At least 1 Ukrainian citizen is deprived of their liberty for political reasons".to_owned()
        }
        Lang::En => format!("At least {count} Ukrainian citizens are deprived of their liberty for political reasons"),
    }
}

/// The fixed strings of one language.
#[derive(Debug)]
pub(crate) struct Strings {
    pub(crate) switch_to: &'static str,
    pub(crate) skip: &'static str,
    pub(crate) demo_banner: &'static str,
    pub(crate) nav_list: &'static str,
    pub(crate) nav_stats: &'static str,
    pub(crate) nav_about: &'static str,
    pub(crate) nav_report: &'static str,
    pub(crate) nav_label: &'static str,
    pub(crate) not_recorded: &'static str,
    pub(crate) in_list: &'static str,
    pub(crate) detained_now: &'static str,
    pub(crate) released: &'static str,
    pub(crate) died: &'static str,
    pub(crate) list_caption: &'static str,
    pub(crate) empty_list: &'static str,
    pub(crate) no_match: &'static str,
    pub(crate) col_photo: &'static str,
    pub(crate) col_name: &'static str,
    pub(crate) col_region: &'static str,
    pub(crate) col_detained: &'static str,
    pub(crate) col_charges: &'static str,
    pub(crate) col_sentence: &'static str,
    pub(crate) col_status: &'static str,
    pub(crate) search_legend: &'static str,
    pub(crate) search_name: &'static str,
    pub(crate) filter_status: &'static str,
    pub(crate) filter_region: &'static str,
    pub(crate) filter_year: &'static str,
    pub(crate) filter_group: &'static str,
    pub(crate) any: &'static str,
    pub(crate) sort_by: &'static str,
    pub(crate) sort_name: &'static str,
    pub(crate) sort_detained: &'static str,
    pub(crate) sort_region: &'static str,
    pub(crate) search_button: &'static str,
    pub(crate) found: &'static str,
    pub(crate) page_label: &'static str,
    pub(crate) previous: &'static str,
    pub(crate) next: &'static str,
    pub(crate) data_as_of: &'static str,
    pub(crate) edition: &'static str,
    pub(crate) no_edition: &'static str,
    pub(crate) list_hash: &'static str,
    pub(crate) canonical_document: &'static str,
    pub(crate) list_json: &'static str,
    pub(crate) ledger: &'static str,
    pub(crate) names: &'static str,
    pub(crate) name_uk: &'static str,
    pub(crate) name_en: &'static str,
    pub(crate) name_ru: &'static str,
    pub(crate) facts: &'static str,
    pub(crate) detention_place: &'static str,
    pub(crate) stage: &'static str,
    pub(crate) place_of_detention: &'static str,
    pub(crate) case_group: &'static str,
    pub(crate) summary: &'static str,
    pub(crate) criteria_heading: &'static str,
    pub(crate) criteria_intro: &'static str,
    pub(crate) signs_heading: &'static str,
    pub(crate) asserted_by: &'static str,
    pub(crate) no_criteria: &'static str,
    pub(crate) no_signs: &'static str,
    pub(crate) status_history: &'static str,
    pub(crate) date: &'static str,
    pub(crate) letters_heading: &'static str,
    pub(crate) letters_text: &'static str,
    pub(crate) signed_history: &'static str,
    pub(crate) signed_history_intro: &'static str,
    pub(crate) member: &'static str,
    pub(crate) action: &'static str,
    pub(crate) time: &'static str,
    pub(crate) event: &'static str,
    pub(crate) not_found_title: &'static str,
    pub(crate) not_found_text: &'static str,
    pub(crate) back_to_list: &'static str,
    pub(crate) life: &'static str,
    pub(crate) years: &'static str,
    pub(crate) months: &'static str,
    pub(crate) stats_title: &'static str,
    pub(crate) stats_intro: &'static str,
    pub(crate) by_region: &'static str,
    pub(crate) by_status: &'static str,
    pub(crate) by_year: &'static str,
    pub(crate) count: &'static str,
    pub(crate) year: &'static str,
    pub(crate) chart_by_year: &'static str,
    pub(crate) about_title: &'static str,
    pub(crate) members: &'static str,
    pub(crate) criteria_pace: &'static str,
    pub(crate) nav_editions: &'static str,
    pub(crate) editions_title: &'static str,
    pub(crate) editions_intro: &'static str,
    pub(crate) no_editions: &'static str,
    pub(crate) edition_word: &'static str,
    pub(crate) official: &'static str,
    pub(crate) not_official: &'static str,
    pub(crate) signed_by: &'static str,
    pub(crate) signatures: &'static str,
    pub(crate) people_in_edition: &'static str,
    pub(crate) merkle_root: &'static str,
    pub(crate) frontier: &'static str,
    pub(crate) changes_since: &'static str,
    pub(crate) no_previous_edition: &'static str,
    pub(crate) change_added: &'static str,
    pub(crate) change_released: &'static str,
    pub(crate) change_died: &'static str,
    pub(crate) change_delisted: &'static str,
    pub(crate) no_changes: &'static str,
    pub(crate) downloads: &'static str,
    pub(crate) signed_note: &'static str,
}

pub(crate) const UK: Strings = Strings {
    switch_to: "English",
    skip: "Перейти до змісту",
    demo_banner: "Демо: усі особи та справи тут вигадані",
    nav_list: "Список",
    nav_stats: "Статистика",
    nav_about: "Про коаліцію",
    nav_report: "Повідомити про переслідування",
    nav_label: "Розділи сайту",
    not_recorded: "—",
    in_list: "У списку",
    detained_now: "утримуються зараз",
    released: "звільнені",
    died: "померли в ув’язненні",
    list_caption: "Спільний список",
    empty_list: "У списку ще нікого немає.",
    no_match: "Ніхто не відповідає пошуку.",
    col_photo: "Фото",
    col_name: "Ім’я",
    col_region: "Регіон",
    col_detained: "Дата затримання",
    col_charges: "Звинувачення",
    col_sentence: "Вирок",
    col_status: "Статус",
    search_legend: "Пошук і фільтри",
    search_name: "Ім’я (українською, англійською або російською)",
    filter_status: "Статус",
    filter_region: "Регіон",
    filter_year: "Рік затримання",
    filter_group: "Група справ",
    any: "будь-який",
    sort_by: "Сортувати за",
    sort_name: "ім’ям",
    sort_detained: "датою затримання",
    sort_region: "регіоном",
    search_button: "Шукати",
    found: "Знайдено",
    page_label: "Сторінки",
    previous: "Попередня",
    next: "Наступна",
    data_as_of: "Дані станом на",
    edition: "Чинне офіційне видання",
    no_edition: "офіційного видання ще немає",
    list_hash: "Хеш списку (BLAKE3 канонічного документа)",
    canonical_document: "канонічний документ списку",
    list_json: "список у форматі JSON",
    ledger: "Реєстр",
    names: "Імена",
    name_uk: "Українською",
    name_en: "Англійською",
    name_ru: "Російською",
    facts: "Відомості",
    detention_place: "Місце затримання",
    stage: "Стадія",
    place_of_detention: "Місце утримання",
    case_group: "Група справ",
    summary: "Опис справи",
    criteria_heading: "Критерії ПАРЄ, встановлені коаліцією",
    criteria_intro: "Резолюція ПАРЄ 1900 (2012): особа є політичним в’язнем, якщо",
    signs_heading: "Ознаки переслідування",
    asserted_by: "Встановила:",
    no_criteria: "Жоден критерій не підтверджено.",
    no_signs: "Ознак не зазначено.",
    status_history: "Історія статусу",
    date: "Дата",
    letters_heading: "Як написати листа",
    letters_text: "Ця людина може отримувати листи. Пишіть російською, без політичних тем. Адреса:",
    signed_history: "Підписана історія справи",
    signed_history_intro: "Кожен рядок — подія, підписана організацією-членом; ідентифікатор веде до її стрічки.",
    member: "Організація",
    action: "Дія",
    time: "Час",
    event: "Подія",
    not_found_title: "Сторінку не знайдено",
    not_found_text: "Такої справи немає в цьому реєстрі.",
    back_to_list: "До списку",
    life: "довічне ув’язнення",
    years: "р.",
    months: "міс.",
    stats_title: "Статистика",
    stats_intro: "Особи, які утримуються зараз, за регіоном і роком затримання; усі справи за статусом.",
    by_region: "За регіоном",
    by_status: "За статусом",
    by_year: "За роком затримання",
    count: "Кількість",
    year: "Рік",
    chart_by_year: "Утримуються зараз, за роком затримання",
    about_title: "Про коаліцію",
    members: "Члени коаліції",
    criteria_pace: "Критерії політичного ув’язнення (ПАРЄ, резолюція 1900 (2012))",
    nav_editions: "Видання",
    editions_title: "Щомісячні видання списку",
    editions_intro: "Видання фіксує список на певний момент і підписане членами коаліції. Будь-хто може перевірити підписи ключами членів і включення окремої особи доказом включення.",
    no_editions: "Видань ще немає",
    edition_word: "Видання",
    official: "офіційне",
    not_official: "ще не офіційне",
    signed_by: "Підписали",
    signatures: "Підписи",
    people_in_edition: "Осіб у виданні",
    merkle_root: "Корінь дерева Меркла",
    frontier: "Межа (голови стрічок)",
    changes_since: "Зміни від видання",
    no_previous_edition: "Попереднього офіційного видання немає",
    change_added: "Додано",
    change_released: "Звільнено",
    change_died: "Померли в ув’язненні",
    change_delisted: "Вилучено зі списку",
    no_changes: "змін немає",
    downloads: "Завантажити",
    signed_note: "Підписана нотатка (C2SP signed note)",
};

pub(crate) const EN: Strings = Strings {
    switch_to: "Українська",
    skip: "Skip to content",
    demo_banner: "Demo: every person and case here is fictional",
    nav_list: "List",
    nav_stats: "Statistics",
    nav_about: "About",
    nav_report: "Report persecution",
    nav_label: "Site sections",
    not_recorded: "—",
    in_list: "In the list",
    detained_now: "detained now",
    released: "released",
    died: "died in custody",
    list_caption: "The joint list",
    empty_list: "No one is in the list yet.",
    no_match: "No one matches the search.",
    col_photo: "Photo",
    col_name: "Name",
    col_region: "Region",
    col_detained: "Detained on",
    col_charges: "Charges",
    col_sentence: "Sentence",
    col_status: "Status",
    search_legend: "Search and filters",
    search_name: "Name (Ukrainian, English or Russian)",
    filter_status: "Status",
    filter_region: "Region",
    filter_year: "Year of detention",
    filter_group: "Case group",
    any: "any",
    sort_by: "Sort by",
    sort_name: "name",
    sort_detained: "date of detention",
    sort_region: "region",
    search_button: "Search",
    found: "Found",
    page_label: "Pages",
    previous: "Previous",
    next: "Next",
    data_as_of: "Data as of",
    edition: "Current official edition",
    no_edition: "no official edition yet",
    list_hash: "List hash (BLAKE3 of the canonical document)",
    canonical_document: "canonical list document",
    list_json: "the list as JSON",
    ledger: "Ledger",
    names: "Names",
    name_uk: "Ukrainian",
    name_en: "English",
    name_ru: "Russian",
    facts: "Facts",
    detention_place: "Place of arrest",
    stage: "Stage",
    place_of_detention: "Held at",
    case_group: "Case group",
    summary: "Summary",
    criteria_heading: "PACE criteria the coalition found",
    criteria_intro: "PACE Resolution 1900 (2012): a person is a political prisoner if",
    signs_heading: "Signs of persecution",
    asserted_by: "Asserted by",
    no_criteria: "No criterion stands.",
    no_signs: "No sign noted.",
    status_history: "Status history",
    date: "Date",
    letters_heading: "How to write a letter",
    letters_text: "This person can receive letters. Write in Russian and avoid politics. Address:",
    signed_history: "Signed history of the case",
    signed_history_intro: "Each row is an event signed by a member organisation; its id links to the member's feed.",
    member: "Member",
    action: "Action",
    time: "Time",
    event: "Event",
    not_found_title: "Page not found",
    not_found_text: "There is no such case in this ledger.",
    back_to_list: "Back to the list",
    life: "life imprisonment",
    years: "y",
    months: "m",
    stats_title: "Statistics",
    stats_intro: "People detained now by region and year of detention; every case by status.",
    by_region: "By region",
    by_status: "By status",
    by_year: "By year of detention",
    count: "Count",
    year: "Year",
    chart_by_year: "Detained now, by year of detention",
    about_title: "About the coalition",
    members: "Members",
    criteria_pace: "Criteria of political imprisonment (PACE Resolution 1900 (2012))",
    nav_editions: "Editions",
    editions_title: "Monthly editions of the list",
    editions_intro: "An edition fixes the list at one point and is signed by the coalition's members. Anyone can check the signatures with the members' keys and one person's inclusion with an inclusion proof.",
    no_editions: "No editions yet",
    edition_word: "Edition",
    official: "official",
    not_official: "not official yet",
    signed_by: "Signed by",
    signatures: "Signatures",
    people_in_edition: "People in the edition",
    merkle_root: "Merkle root",
    frontier: "Frontier (feed heads)",
    changes_since: "Changes since edition",
    no_previous_edition: "No earlier official edition",
    change_added: "Added",
    change_released: "Released",
    change_died: "Died in custody",
    change_delisted: "Delisted",
    no_changes: "no changes",
    downloads: "Downloads",
    signed_note: "Signed note (C2SP signed note)",
};

pub(crate) fn region(lang: Lang, region: Region) -> &'static str {
    match (lang, region) {
        (Lang::Uk, Region::Crimea) => "Крим",
        (Lang::Uk, Region::Sevastopol) => "Севастополь",
        (Lang::Uk, Region::Donetsk) => "Донецька область",
        (Lang::Uk, Region::Luhansk) => "Луганська область",
        (Lang::Uk, Region::Zaporizhzhia) => "Запорізька область",
        (Lang::Uk, Region::Kherson) => "Херсонська область",
        (Lang::Uk, Region::Russia) => "Росія",
        (Lang::Uk, Region::Other) => "Інше",
        (Lang::En, Region::Crimea) => "Crimea",
        (Lang::En, Region::Sevastopol) => "Sevastopol",
        (Lang::En, Region::Donetsk) => "Donetsk region",
        (Lang::En, Region::Luhansk) => "Luhansk region",
        (Lang::En, Region::Zaporizhzhia) => "Zaporizhzhia region",
        (Lang::En, Region::Kherson) => "Kherson region",
        (Lang::En, Region::Russia) => "Russia",
        (Lang::En, Region::Other) => "Other",
    }
}

pub(crate) fn status(lang: Lang, status: Status) -> &'static str {
    match (lang, status) {
        (Lang::Uk, Status::UnderReview) => "на розгляді",
        (Lang::Uk, Status::Listed) => "утримується",
        (Lang::Uk, Status::Released) => "звільнений(-а)",
        (Lang::Uk, Status::Died) => "помер(-ла) в ув’язненні",
        (Lang::Uk, Status::Delisted) => "вилучено зі списку",
        (Lang::Uk, Status::Excluded) => "виключено",
        (Lang::En, Status::UnderReview) => "under review",
        (Lang::En, Status::Listed) => "detained",
        (Lang::En, Status::Released) => "released",
        (Lang::En, Status::Died) => "died in custody",
        (Lang::En, Status::Delisted) => "delisted",
        (Lang::En, Status::Excluded) => "excluded",
        (_, _) => status.as_str(),
    }
}

pub(crate) fn stage(lang: Lang, stage: Stage) -> &'static str {
    match (lang, stage) {
        (Lang::Uk, Stage::PreTrial) => "слідство",
        (Lang::Uk, Stage::Trial) => "суд",
        (Lang::Uk, Stage::Appeal) => "апеляція",
        (Lang::Uk, Stage::Sentenced) => "засуджений(-а), вирок не набрав сили",
        (Lang::Uk, Stage::ServingSentence) => "відбуває покарання",
        (Lang::Uk, Stage::CompulsoryTreatment) => "примусове психіатричне лікування",
        (Lang::Uk, Stage::WhereaboutsUnknown) => "місцеперебування невідоме",
        (Lang::Uk, Stage::Other) => "інше",
        (Lang::En, Stage::PreTrial) => "investigation",
        (Lang::En, Stage::Trial) => "on trial",
        (Lang::En, Stage::Appeal) => "on appeal",
        (Lang::En, Stage::Sentenced) => "sentenced, not yet in force",
        (Lang::En, Stage::ServingSentence) => "serving a sentence",
        (Lang::En, Stage::CompulsoryTreatment) => "compulsory psychiatric treatment",
        (Lang::En, Stage::WhereaboutsUnknown) => "whereabouts unknown",
        (Lang::En, Stage::Other) => "other",
    }
}

pub(crate) fn regime(lang: Lang, regime: Regime) -> &'static str {
    match (lang, regime) {
        (Lang::Uk, Regime::General) => "загальний режим",
        (Lang::Uk, Regime::Strict) => "суворий режим",
        (Lang::Uk, Regime::Special) => "особливий режим",
        (Lang::Uk, Regime::Prison) => "в’язниця",
        (Lang::Uk, Regime::Settlement) => "колонія-поселення",
        (Lang::Uk, Regime::Psychiatric) => "психіатричний заклад",
        (Lang::En, Regime::General) => "general regime",
        (Lang::En, Regime::Strict) => "strict regime",
        (Lang::En, Regime::Special) => "special regime",
        (Lang::En, Regime::Prison) => "prison",
        (Lang::En, Regime::Settlement) => "settlement colony",
        (Lang::En, Regime::Psychiatric) => "psychiatric facility",
    }
}

pub(crate) fn charge_code(lang: Lang, code: ChargeCode) -> &'static str {
    match (lang, code) {
        (Lang::Uk, ChargeCode::RuCriminalCode) => "КК РФ",
        (Lang::Uk, ChargeCode::RuAdministrativeCode) => "КоАП РФ",
        (Lang::Uk, ChargeCode::Other) => "інший кодекс",
        (Lang::En, ChargeCode::RuCriminalCode) => "RF Criminal Code",
        (Lang::En, ChargeCode::RuAdministrativeCode) => "RF Administrative Code",
        (Lang::En, ChargeCode::Other) => "other code",
    }
}

/// What the letter of a PACE criterion means.
pub(crate) fn criterion(lang: Lang, criterion: Criterion) -> &'static str {
    match (lang, criterion) {
        (Lang::Uk, Criterion::A) => {
            "позбавлення волі порушує одну з основних гарантій ЄКПЛ (свобода думки, совісті, релігії, вираження поглядів, інформації, зібрань, об’єднань)"
        }
        (Lang::Uk, Criterion::B) => {
            "позбавлення волі з суто політичних причин, без зв’язку з будь-яким правопорушенням"
        }
        (Lang::Uk, Criterion::C) => {
            "з політичних мотивів тривалість чи умови позбавлення волі явно непропорційні правопорушенню"
        }
        (Lang::Uk, Criterion::D) => "з політичних мотивів особу позбавлено волі дискримінаційно порівняно з іншими",
        (Lang::Uk, Criterion::E) => {
            "позбавлення волі є наслідком явно несправедливого провадження, пов’язаного з політичними мотивами"
        }
        (Lang::En, Criterion::A) => {
            "the detention violates a fundamental guarantee of the ECHR (thought, conscience, religion, expression, information, assembly, association)"
        }
        (Lang::En, Criterion::B) => "the detention is for purely political reasons without connection to any offence",
        (Lang::En, Criterion::C) => {
            "for political motives, the length or conditions of detention are clearly out of proportion to the offence"
        }
        (Lang::En, Criterion::D) => "for political motives, the person is detained in a discriminatory manner",
        (Lang::En, Criterion::E) => {
            "the detention results from clearly unfair proceedings connected with political motives"
        }
    }
}

pub(crate) fn sign(lang: Lang, sign: Sign) -> &'static str {
    match (lang, sign) {
        (Lang::Uk, Sign::FreeSpeech) => "ненасильницьке висловлювання поглядів",
        (Lang::Uk, Sign::ProfessionalActivity) => "професійна діяльність (журналіст, адвокат…)",
        (Lang::Uk, Sign::ProUkrainianPosition) => "публічна проукраїнська позиція",
        (Lang::Uk, Sign::PropagandaProsecution) => "переслідування з пропагандистською метою",
        (Lang::Uk, Sign::HealthAtRisk) => "підтверджена шкода здоров’ю або загроза",
        (Lang::Uk, Sign::FalsifiedEvidence) => "підтверджена фальсифікація доказів",
        (Lang::En, Sign::FreeSpeech) => "non-violent exercise of free speech",
        (Lang::En, Sign::ProfessionalActivity) => "professional activity (journalist, lawyer…)",
        (Lang::En, Sign::ProUkrainianPosition) => "a public pro-Ukrainian position",
        (Lang::En, Sign::PropagandaProsecution) => "prosecution for propaganda purposes",
        (Lang::En, Sign::HealthAtRisk) => "confirmed damage to health or its threat",
        (Lang::En, Sign::FalsifiedEvidence) => "confirmed falsification of evidence",
    }
}

pub(crate) fn release(lang: Lang, circumstances: ReleaseCircumstances) -> &'static str {
    match (lang, circumstances) {
        (Lang::Uk, ReleaseCircumstances::Exchange) => "обмін",
        (Lang::Uk, ReleaseCircumstances::EndOfTerm) => "закінчення строку",
        (Lang::Uk, ReleaseCircumstances::Acquittal) => "виправдання",
        (Lang::Uk, ReleaseCircumstances::Pardon) => "помилування",
        (Lang::Uk, ReleaseCircumstances::Other) => "інше",
        (Lang::En, ReleaseCircumstances::Exchange) => "exchange",
        (Lang::En, ReleaseCircumstances::EndOfTerm) => "end of term",
        (Lang::En, ReleaseCircumstances::Acquittal) => "acquittal",
        (Lang::En, ReleaseCircumstances::Pardon) => "pardon",
        (Lang::En, ReleaseCircumstances::Other) => "other",
    }
}

/// What an event about a case did, in a few words.
pub(crate) fn event_kind(lang: Lang, kind: EventKind) -> &'static str {
    match (lang, kind) {
        (Lang::Uk, EventKind::CaseOpened) => "відкрила справу",
        (Lang::Uk, EventKind::CaseUpdated) => "оновила відомості",
        (Lang::Uk, EventKind::CriterionAsserted) => "встановила критерій",
        (Lang::Uk, EventKind::CriterionWithdrawn) => "відкликала критерій",
        (Lang::Uk, EventKind::SignNoted) => "зазначила ознаку",
        (Lang::Uk, EventKind::ExclusionRaised) => "заявила підставу виключення",
        (Lang::Uk, EventKind::ExclusionWithdrawn) => "відкликала підставу виключення",
        (Lang::Uk, EventKind::PersonAdded) => "підтримала включення до списку",
        (Lang::Uk, EventKind::PersonRemoved) => "відкликала підтримку",
        (Lang::Uk, EventKind::PersonReleased) => "зафіксувала звільнення",
        (Lang::Uk, EventKind::PersonDetained) => "зафіксувала затримання",
        (Lang::Uk, EventKind::PersonDied) => "зафіксувала смерть",
        (Lang::En, EventKind::CaseOpened) => "opened the case",
        (Lang::En, EventKind::CaseUpdated) => "updated the facts",
        (Lang::En, EventKind::CriterionAsserted) => "asserted a criterion",
        (Lang::En, EventKind::CriterionWithdrawn) => "withdrew a criterion",
        (Lang::En, EventKind::SignNoted) => "noted a sign",
        (Lang::En, EventKind::ExclusionRaised) => "raised an exclusion",
        (Lang::En, EventKind::ExclusionWithdrawn) => "withdrew an exclusion",
        (Lang::En, EventKind::PersonAdded) => "endorsed the listing",
        (Lang::En, EventKind::PersonRemoved) => "withdrew its endorsement",
        (Lang::En, EventKind::PersonReleased) => "recorded a release",
        (Lang::En, EventKind::PersonDetained) => "recorded a new detention",
        (Lang::En, EventKind::PersonDied) => "recorded a death in custody",
        (_, other) => other.as_str(),
    }
}

// --- the public report form -------------------------------------------------------------------

/// The strings of the public report form (`/report`) and its answers, per language.
pub(crate) struct ReportStrings {
    pub(crate) title: &'static str,
    pub(crate) intro: &'static str,
    pub(crate) data_heading: &'static str,
    pub(crate) data_text: &'static str,
    pub(crate) who: &'static str,
    pub(crate) place: &'static str,
    pub(crate) what: &'static str,
    pub(crate) contact: &'static str,
    pub(crate) consent: &'static str,
    /// The label of the honeypot field, which people never see.
    pub(crate) honeypot: &'static str,
    pub(crate) submit: &'static str,
    pub(crate) thanks: &'static str,
    pub(crate) closed: &'static str,
    pub(crate) too_many: &'static str,
    pub(crate) full: &'static str,
    pub(crate) invalid: &'static str,
    pub(crate) internal: &'static str,
    pub(crate) not_utf8: &'static str,
    pub(crate) malformed_escape: &'static str,
    pub(crate) repeated_field: &'static str,
    pub(crate) unknown_field: &'static str,
    pub(crate) too_many_fields: &'static str,
    pub(crate) too_large: &'static str,
    pub(crate) not_json: &'static str,
    pub(crate) required: &'static str,
    /// "{chars}" and "{max}" are replaced.
    pub(crate) too_long: &'static str,
    pub(crate) cannot_seal: &'static str,
}

pub(crate) const UK_REPORT: ReportStrings = ReportStrings {
    title: "Повідомити про політичне переслідування",
    intro: "Розкажіть нам про це — ми відповімо на вашу електронну пошту.",
    data_heading: "Що станеться з цими даними",
    data_text: "Ваше повідомлення одразу шифрується ключами організацій-членів коаліції і ніколи не \
                зберігається відкритим текстом. Воно не потрапляє до публічного реєстру. Прочитати його \
                можуть лише організації-члени коаліції; після розгляду воно видаляється. Ми не зберігаємо \
                вашу IP-адресу, не використовуємо стороннього коду, капчі чи відстеження.",
    who: "Кого переслідують (ім'я, вік, хто ця людина)",
    place: "Де (область, населений пункт)",
    what: "Що сталося",
    contact: "Як з вами зв'язатися (необов'язково: e-mail, Signal)",
    consent: "Я згоден/згодна, щоб зі мною зв'язалися",
    honeypot: "Вебсайт",
    submit: "Надіслати",
    thanks: "Дякуємо. Повідомлення зашифроване та передане організаціям-членам коаліції. Якщо ви \
             залишили контакт і дали згоду, з вами зв'яжуться.",
    closed: "Цей сервер не приймає повідомлень (це дзеркало лише для читання, або ключі шифрування ще \
             не опубліковані). Нічого не збережено.",
    too_many: "Забагато повідомлень за короткий час. Нічого не збережено; спробуйте пізніше.",
    full: "Скринька повідомлень зараз переповнена. Нічого не збережено; спробуйте, будь ласка, за кілька днів.",
    invalid: "Повідомлення не прийнято, нічого не збережено",
    internal: "Внутрішня помилка сервера. Нічого не збережено; спробуйте пізніше.",
    not_utf8: "форма надійшла не в кодуванні UTF-8",
    malformed_escape: "форма містить пошкоджений символ %",
    repeated_field: "одне поле надіслано двічі",
    unknown_field: "форма містить невідоме поле",
    too_many_fields: "форма містить забагато полів",
    too_large: "повідомлення завелике або надійшло не повністю",
    not_json: "тіло запиту не є повідомленням у JSON",
    required: "це поле обов'язкове",
    too_long: "{chars} символів; щонайбільше {max}",
    cannot_seal: "повідомлення завелике, щоб його зашифрувати; скоротіть поле «Що сталося»",
};

pub(crate) const EN_REPORT: ReportStrings = ReportStrings {
    title: "Report political persecution",
    intro: "Tell us about it: we will reply to your e-mail.",
    data_heading: "What happens to this data",
    data_text: "Your report is encrypted at once to the keys of the coalition's member organisations and \
                is never stored in clear. It never enters the public ledger. Only the member \
                organisations can read it; it is deleted once handled. We keep no IP address and use no \
                third-party code, captcha or tracking.",
    who: "Who is persecuted (name, age, who they are)",
    place: "Where (region, place)",
    what: "What happened",
    contact: "How to reach you (optional: e-mail, Signal)",
    consent: "I agree to be contacted",
    honeypot: "Website",
    submit: "Send",
    thanks: "Thank you. The report is encrypted and with the coalition's member organisations. If you \
             left a contact and agreed, they will contact you.",
    closed: "This server does not accept reports (it is a read-only mirror, or no encryption keys are \
             published yet). Nothing was stored.",
    too_many: "Too many reports in a short time. Nothing was stored; please try later.",
    full: "The report inbox is full right now. Nothing was stored; please try again in a few days.",
    invalid: "The report was not accepted, nothing was stored",
    internal: "An internal error of the server. Nothing was stored; please try later.",
    not_utf8: "the form is not in UTF-8",
    malformed_escape: "the form has a malformed % escape",
    repeated_field: "a field was sent twice",
    unknown_field: "the form has an unknown field",
    too_many_fields: "the form has too many fields",
    too_large: "the report is too large, or did not arrive whole",
    not_json: "the request body is not a report in JSON",
    required: "this field is required",
    too_long: "{chars} characters; at most {max}",
    cannot_seal: "the report is too large to be encrypted; shorten \u{201c}What happened\u{201d}",
};

/// The strings of the report form in `lang`.
pub(crate) const fn report_strings(lang: Lang) -> &'static ReportStrings {
    match lang {
        Lang::Uk => &UK_REPORT,
        Lang::En => &EN_REPORT,
    }
}

/// A report form field, as the form's problems name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReportField {
    Who,
    Place,
    What,
    Contact,
}

/// Why the report form refused a submission, before the language of the answer is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReportProblem {
    NotUtf8,
    MalformedEscape,
    RepeatedField,
    UnknownField,
    TooManyFields,
    TooLarge,
    /// A JSON body that is not a report (its parser's words, in English, for API clients).
    NotJson(String),
    Required(ReportField),
    TooLong {
        field: ReportField,
        chars: usize,
        max: usize,
    },
    CannotSeal,
}

/// A refusal of the report form, in `lang`: the field's label, then what is wrong.
pub(crate) fn report_problem(lang: Lang, problem: &ReportProblem) -> String {
    let t = report_strings(lang);
    let label = |field: &ReportField| match field {
        ReportField::Who => t.who,
        ReportField::Place => t.place,
        ReportField::What => t.what,
        ReportField::Contact => t.contact,
    };
    match problem {
        ReportProblem::NotUtf8 => t.not_utf8.to_owned(),
        ReportProblem::MalformedEscape => t.malformed_escape.to_owned(),
        ReportProblem::RepeatedField => t.repeated_field.to_owned(),
        ReportProblem::UnknownField => t.unknown_field.to_owned(),
        ReportProblem::TooManyFields => t.too_many_fields.to_owned(),
        ReportProblem::TooLarge => t.too_large.to_owned(),
        ReportProblem::NotJson(detail) => format!("{}: {detail}", t.not_json),
        ReportProblem::Required(field) => format!("{}: {}", label(field), t.required),
        ReportProblem::TooLong { field, chars, max } => format!(
            "{}: {}",
            label(field),
            t.too_long.replace("{chars}", &chars.to_string()).replace("{max}", &max.to_string())
        ),
        ReportProblem::CannotSeal => t.cannot_seal.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ukrainian_plurals_follow_cldr() {
        let form = |count| persons(Lang::Uk, count);
        assert_eq!(form(1), "1 особа");
        assert_eq!(form(2), "2 особи");
        assert_eq!(form(4), "4 особи");
        assert_eq!(form(5), "5 осіб");
        assert_eq!(form(11), "11 осіб");
        assert_eq!(form(12), "12 осіб");
        assert_eq!(form(14), "14 осіб");
        assert_eq!(form(21), "21 особа");
        assert_eq!(form(22), "22 особи");
        assert_eq!(form(0), "0 осіб");
        assert_eq!(form(111), "111 осіб");
        assert_eq!(form(101), "101 особа");
        assert_eq!(persons(Lang::En, 1), "1 person");
        assert_eq!(persons(Lang::En, 2), "2 people");
    }

    #[test]
    fn headlines_agree_with_the_count() {
        assert_eq!(headline(Lang::Uk, 1), "Щонайменше 1 громадянин України позбавлений волі з політичних мотивів");
        assert_eq!(headline(Lang::Uk, 3), "Щонайменше 3 громадяни України позбавлені волі з політичних мотивів");
        assert_eq!(headline(Lang::Uk, 11), "Щонайменше 11 громадян України позбавлені волі з політичних мотивів");
        assert_eq!(headline(Lang::Uk, 21), "Щонайменше 21 громадянин України позбавлений волі з політичних мотивів");
        assert!(headline(Lang::En, 1).starts_with("At least 1 Ukrainian citizen is"));
        assert!(headline(Lang::En, 5).starts_with("At least 5 Ukrainian citizens are"));
    }

    #[test]
    fn accept_language_prefers_ukrainian_only_when_it_is_preferred() {
        assert_eq!(from_accept_language("uk"), Lang::Uk);
        assert_eq!(from_accept_language("uk-UA,uk;q=0.9,en;q=0.8"), Lang::Uk);
        assert_eq!(from_accept_language("en-US,en;q=0.9,uk;q=0.8"), Lang::En);
        assert_eq!(from_accept_language("en;q=0.5,uk;q=0.7"), Lang::Uk);
        assert_eq!(from_accept_language("ru,uk;q=0.9"), Lang::Uk);
        assert_eq!(from_accept_language("de,fr"), Lang::En);
        assert_eq!(from_accept_language("uk;q=0,en"), Lang::En);
        assert_eq!(from_accept_language("uk;q=nonsense"), Lang::En);
        assert_eq!(from_accept_language(""), Lang::En);
    }

    #[test]
    fn report_problems_name_the_field_in_the_page_language() {
        let long = ReportProblem::TooLong { field: ReportField::What, chars: 10_001, max: 10_000 };
        assert_eq!(report_problem(Lang::En, &long), "What happened: 10001 characters; at most 10000");
        assert_eq!(report_problem(Lang::Uk, &long), "Що сталося: 10001 символів; щонайбільше 10000");
        let required = ReportProblem::Required(ReportField::Who);
        assert!(report_problem(Lang::Uk, &required).ends_with("це поле обов'язкове"));
        assert_ne!(report_strings(Lang::Uk).full, report_strings(Lang::En).full);
    }
}
