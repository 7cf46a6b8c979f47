//! Outcome measures, scored and banded exactly as DOMAIN.md says.
//!
//! - ONS4 personal wellbeing: four answers 0-10 (life satisfaction, worthwhile, happy
//!   yesterday, anxious yesterday), reported separately and never summed.
//! - SWEMWBS: seven answers 1-5, raw total 7-35, converted to a metric score with the published
//!   table. Its use needs registration with its rights holders; the software only scores it.

use serde::{Deserialize, Serialize};

/// Why answers were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MeasureError {
    /// Wrong number of answers.
    #[error("expected {expected} answers, got {got}")]
    Count {
        /// How many the measure has.
        expected: usize,
        /// How many were given.
        got: usize,
    },
    /// An answer outside the scale.
    #[error("answer {item} must be between {min} and {max}")]
    Range {
        /// Which answer (from 1).
        item: usize,
        /// Lowest allowed.
        min: u8,
        /// Highest allowed.
        max: u8,
    },
}

fn check(answers: &[i64], count: usize, min: u8, max: u8) -> Result<Vec<u8>, MeasureError> {
    if answers.len() != count {
        return Err(MeasureError::Count { expected: count, got: answers.len() });
    }
    answers
        .iter()
        .enumerate()
        .map(|(i, a)| {
            u8::try_from(*a).ok().filter(|v| (min..=max).contains(v)).ok_or(MeasureError::Range {
                item: i + 1,
                min,
                max,
            })
        })
        .collect()
}

/// The four ONS4 questions, in order.
pub const ONS4_ITEMS: [&str; 4] = ["life_satisfaction", "worthwhile", "happy_yesterday", "anxious_yesterday"];

/// ONS4 answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ons4 {
    /// Overall, how satisfied are you with your life nowadays? (0-10)
    pub life_satisfaction: u8,
    /// To what extent do you feel the things you do in your life are worthwhile? (0-10)
    pub worthwhile: u8,
    /// Overall, how happy did you feel yesterday? (0-10)
    pub happy_yesterday: u8,
    /// Overall, how anxious did you feel yesterday? (0-10)
    pub anxious_yesterday: u8,
}

/// An ONS4 band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ons4Band {
    /// Satisfaction, worthwhile, happiness 0-4; anxiety 2-3.
    Low,
    /// Satisfaction, worthwhile, happiness 5-6; anxiety 4-5.
    Medium,
    /// Satisfaction, worthwhile, happiness 7-8; anxiety 6-10.
    High,
    /// Satisfaction, worthwhile, happiness 9-10.
    VeryHigh,
    /// Anxiety 0-1.
    VeryLow,
}

impl Ons4 {
    /// From four answers in the order of [`ONS4_ITEMS`].
    pub fn from_answers(answers: &[i64]) -> Result<Self, MeasureError> {
        let a = check(answers, 4, 0, 10)?;
        Ok(Self { life_satisfaction: a[0], worthwhile: a[1], happy_yesterday: a[2], anxious_yesterday: a[3] })
    }

    /// The answers in order.
    pub fn answers(&self) -> [u8; 4] {
        [self.life_satisfaction, self.worthwhile, self.happy_yesterday, self.anxious_yesterday]
    }

    /// Band of each item, in order.
    pub fn bands(&self) -> [Ons4Band; 4] {
        let positive = |v: u8| match v {
            0..=4 => Ons4Band::Low,
            5..=6 => Ons4Band::Medium,
            7..=8 => Ons4Band::High,
            _ => Ons4Band::VeryHigh,
        };
        let anxiety = match self.anxious_yesterday {
            0..=1 => Ons4Band::VeryLow,
            2..=3 => Ons4Band::Low,
            4..=5 => Ons4Band::Medium,
            _ => Ons4Band::High,
        };
        [positive(self.life_satisfaction), positive(self.worthwhile), positive(self.happy_yesterday), anxiety]
    }

    /// Change per item from `baseline` to `self` (follow-up minus baseline). For anxiety a fall
    /// is an improvement; the number is reported as is.
    pub fn change_from(&self, baseline: &Ons4) -> [i8; 4] {
        let (a, b) = (self.answers(), baseline.answers());
        [0, 1, 2, 3].map(|i| a[i] as i8 - b[i] as i8)
    }
}

/// SWEMWBS raw total (7-35) to metric score, the published conversion table.
const SWEMWBS_METRIC: [f64; 29] = [
    7.00, 9.51, 11.25, 12.40, 13.33, 14.08, 14.75, 15.32, 15.84, 16.36, 16.88, 17.43, 17.98, 18.59, 19.25, 19.98,
    20.73, 21.54, 22.35, 23.21, 24.11, 25.03, 26.02, 27.03, 28.13, 29.31, 30.70, 32.55, 35.00,
];

/// SWEMWBS answers, scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Swemwbs {
    /// The seven answers (1-5).
    pub answers: [u8; 7],
    /// Raw total, 7-35.
    pub raw: u8,
    /// Metric score from the conversion table.
    pub metric: f64,
}

impl Swemwbs {
    /// From seven answers.
    pub fn from_answers(answers: &[i64]) -> Result<Self, MeasureError> {
        let a = check(answers, 7, 1, 5)?;
        let raw: u8 = a.iter().sum();
        let metric = SWEMWBS_METRIC[usize::from(raw - 7)];
        Ok(Self { answers: [a[0], a[1], a[2], a[3], a[4], a[5], a[6]], raw, metric })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ons4_bands_match_the_domain() {
        let o = Ons4::from_answers(&[4, 5, 8, 1]).unwrap();
        assert_eq!(o.bands(), [Ons4Band::Low, Ons4Band::Medium, Ons4Band::High, Ons4Band::VeryLow]);
        let o = Ons4::from_answers(&[9, 10, 7, 6]).unwrap();
        assert_eq!(o.bands(), [Ons4Band::VeryHigh, Ons4Band::VeryHigh, Ons4Band::High, Ons4Band::High]);
        let o = Ons4::from_answers(&[6, 0, 0, 3]).unwrap();
        assert_eq!(o.bands(), [Ons4Band::Medium, Ons4Band::Low, Ons4Band::Low, Ons4Band::Low]);
        assert_eq!(Ons4::from_answers(&[0, 0, 0, 4]).unwrap().bands()[3], Ons4Band::Medium);
        assert_eq!(Ons4::from_answers(&[0, 0, 0, 5]).unwrap().bands()[3], Ons4Band::Medium);
        let baseline = Ons4::from_answers(&[3, 4, 2, 8]).unwrap();
        let follow_up = Ons4::from_answers(&[6, 6, 5, 4]).unwrap();
        assert_eq!(follow_up.change_from(&baseline), [3, 2, 3, -4]);
    }

    #[test]
    fn ons4_bad_answers() {
        assert_eq!(Ons4::from_answers(&[1, 2, 3]), Err(MeasureError::Count { expected: 4, got: 3 }));
        assert_eq!(Ons4::from_answers(&[1, 2, 3, 11]), Err(MeasureError::Range { item: 4, min: 0, max: 10 }));
        assert_eq!(Ons4::from_answers(&[-1, 2, 3, 4]), Err(MeasureError::Range { item: 1, min: 0, max: 10 }));
    }

    #[test]
    fn swemwbs_uses_the_published_table() {
        assert_eq!(Swemwbs::from_answers(&[1; 7]).unwrap().metric, 7.00);
        assert_eq!(Swemwbs::from_answers(&[5; 7]).unwrap().metric, 35.00);
        let s = Swemwbs::from_answers(&[3, 3, 3, 3, 3, 3, 3]).unwrap();
        assert_eq!((s.raw, s.metric), (21, 19.25));
        let s = Swemwbs::from_answers(&[4, 4, 4, 4, 4, 4, 3]).unwrap();
        assert_eq!((s.raw, s.metric), (27, 24.11));
        assert_eq!(Swemwbs::from_answers(&[1, 1, 1, 1, 1, 1, 2]).unwrap().metric, 9.51);
        assert_eq!(Swemwbs::from_answers(&[5, 5, 5, 5, 5, 5, 4]).unwrap().metric, 32.55);
        assert!(Swemwbs::from_answers(&[0, 3, 3, 3, 3, 3, 3]).is_err());
        assert!(Swemwbs::from_answers(&[6, 3, 3, 3, 3, 3, 3]).is_err());
        assert!(Swemwbs::from_answers(&[3; 6]).is_err());
        assert!(Swemwbs::from_answers(&[3; 8]).is_err());
    }
}
