//! Name search tolerant of transliteration: names and queries are compared on a folded form.
//!
//! The folded form: Ukrainian letters transliterated by the KMU 2010 table
//! ([`coalition_node::demo::transliterate_uk`]), the Russian-only letters mapped to their usual
//! Latin forms, lowercase, apostrophes, hyphens and other punctuation dropped, whitespace
//! collapsed, then the spellings that vary between systems folded together: `kh` to `h`, `y`
//! before a vowel to `i` (ya/ia, yu/iu, ye/ie, yi/i), a run of `i` to one, a word-final `y` or
//! `j` after `i` dropped (-iy, -ij, -ii all end in `i`), `ie` to `e`. So "Yevhen", "Ievhen",
//! "Євген" and "Евгений" meet, as do "Oleksiy", "Oleksii" and "Олексій"; `g`/`h` stays a real
//! difference.

use coalition_node::demo::transliterate_uk;

/// Longest search query looked at, in characters; the rest is ignored.
pub(crate) const QUERY_CHARS_MAX: usize = 200;

/// Most words of a query used (each must match).
pub(crate) const QUERY_WORDS_MAX: usize = 8;

/// The folded form of `text` (see the module documentation).
pub(crate) fn fold(text: &str) -> String {
    let latin = transliterate_uk(text);
    let mut plain = String::with_capacity(latin.len());
    for character in latin.chars().flat_map(char::to_lowercase) {
        match character {
            'ё' | 'э' => plain.push('e'),
            'ы' => plain.push('y'),
            'ъ' | 'ь' => {}
            '\'' | '\u{2019}' | '\u{02bc}' | '`' | '-' | '\u{2010}' | '\u{2011}' | '\u{2013}' => {}
            character if character.is_alphanumeric() => plain.push(character),
            _ => {
                if !plain.ends_with(' ') && !plain.is_empty() {
                    plain.push(' ');
                }
            }
        }
    }
    let chars: Vec<char> = plain.trim_end().replace("kh", "h").chars().collect();
    let mut folded = String::with_capacity(chars.len());
    for (index, &character) in chars.iter().enumerate() {
        let next = chars.get(index + 1).copied();
        // `y` before a vowel is the `i` of other systems (ya/ia, ye/ie, yi/i, yu/iu).
        let character =
            if character == 'y' && next.is_some_and(|next| "aeiou".contains(next)) { 'i' } else { character };
        // A word-final `y` or `j` after `i` (-iy, -ij): the `i` alone.
        if matches!(character, 'y' | 'j') && folded.ends_with('i') && next.is_none_or(|next| next == ' ') {
            continue;
        }
        if character == 'i' && folded.ends_with('i') {
            continue;
        }
        folded.push(character);
    }
    folded.replace("ie", "e")
}

/// The folded words of a query (at most [`QUERY_WORDS_MAX`], from at most [`QUERY_CHARS_MAX`]
/// characters).
pub(crate) fn query_words(query: &str) -> Vec<String> {
    let query: String = query.chars().take(QUERY_CHARS_MAX).collect();
    fold(&query).split(' ').filter(|word| !word.is_empty()).take(QUERY_WORDS_MAX).map(str::to_owned).collect()
}

/// Whether every word is a part of `haystack` (a folded text).
pub(crate) fn matches(haystack: &str, words: &[String]) -> bool {
    words.iter().all(|word| haystack.contains(word.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finds(name: &str, query: &str) -> bool {
        matches(&fold(name), &query_words(query))
    }

    #[test]
    fn transliteration_variants_meet() {
        assert!(finds("Євген Петренко", "Yevhen"));
        assert!(finds("Євген Петренко", "ievhen petrenko"));
        assert!(finds("Yevhen Petrenko", "Євген"));
        assert!(finds("Евгений Петренко", "yevhen"));
        assert!(finds("Oleksii Kharchenko", "Oleksiy Harchenko"));
        assert!(finds("Олексій Харченко", "oleksii"));
        assert!(finds("Ірина Мар’янчук", "Maryanchuk"));
        assert!(finds("Iryna Mar'ianchuk", "марянчук"));
        assert!(finds("Anna-Maria Koval", "annamaria"));
        assert!(finds("Їжак Іван", "Yizhak"));
        assert!(finds("Ольга Ковальчук", "КОВАЛЬЧУК"));
        assert!(!finds("Ольга Ковальчук", "Петренко"));
    }

    #[test]
    fn hostile_queries_fold_to_something_harmless() {
        assert!(query_words("").is_empty());
        assert!(query_words("   ,,, '' --").is_empty());
        assert_eq!(query_words("<script>alert(1)</script>"), ["script", "alert", "1", "script"]);
        let long = "а".repeat(100_000);
        assert_eq!(query_words(&long).concat().chars().count(), QUERY_CHARS_MAX);
        assert!(query_words(&"a ".repeat(1000)).len() <= QUERY_WORDS_MAX);
    }
}
