//! The figures: nDCG@5, hit@1, precision@3, nearest fitting first, unrelated listings shown when
//! nothing fits, and "nothing close" said when something does fit.
// The floor test reads the summary only; the example prints the rest.
#![allow(dead_code)]

/// A listing as the answer showed it.
pub struct Shown {
    pub grade: u8,
    pub name: String,
    pub distance_km: Option<f64>,
    /// False when the answer labels it a partial match.
    pub as_match: bool,
    pub explain: Option<String>,
}

/// Two fitting listings this close in distance count as equally near.
const SAME_DISTANCE_KM: f64 = 1.0;

/// One result of the top five: grade, name, km, shown as a match, explanation.
pub type TopRow = (u8, String, Option<f64>, bool, Option<String>);

/// One query's figures; `None` where a figure does not apply to it.
pub struct QueryFigures {
    pub label: String,
    pub ndcg5: Option<f64>,
    pub hit1: Option<bool>,
    pub p3: Option<f64>,
    pub nearest_first: Option<bool>,
    /// Nothing reachable fits: whether listings were still shown as matches.
    pub unrelated_shown: Option<bool>,
    /// Something reachable fits: whether the answer said nothing close matches.
    pub false_alarm: Option<bool>,
    /// The top five: grade, name, km, shown as a match, explanation.
    pub top: Vec<TopRow>,
}

fn gain(grade: u8) -> f64 {
    f64::from((1u32 << grade) - 1)
}

fn dcg(grades: impl Iterator<Item = u8>) -> f64 {
    grades.take(5).enumerate().map(|(i, g)| gain(g) / ((i + 2) as f64).log2()).sum()
}

/// Measures one answer. `reachable` is every listing the search could have shown (same place,
/// radius and public view) with its grade and distance: the ideal is drawn from it.
pub fn measure(label: String, shown: &[Shown], reachable: &[(u8, Option<f64>)], says_weak: bool) -> QueryFigures {
    let mut ideal: Vec<u8> = reachable.iter().map(|(g, _)| *g).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let relevant = ideal.iter().filter(|g| **g >= 1).count();
    let fitting = ideal.iter().filter(|g| **g == 2).count();
    let grades: Vec<u8> = shown.iter().map(|s| s.grade).collect();
    let ndcg5 = (relevant > 0).then(|| dcg(grades.iter().copied()) / dcg(ideal.iter().copied()));
    let hit1 = (fitting > 0).then(|| grades.first() == Some(&2));
    let p3 = (relevant > 0).then(|| grades.iter().take(3).filter(|g| **g >= 1).count() as f64 / relevant.min(3) as f64);
    // Among listings that fit equally well (grade 2), the first shown should be the nearest
    // one reachable (or within SAME_DISTANCE_KM of it).
    let nearest_fitting = reachable.iter().filter(|(g, _)| *g == 2).filter_map(|(_, d)| *d).reduce(f64::min);
    let nearest_first = match nearest_fitting {
        Some(nearest) if fitting >= 2 => Some(
            shown
                .iter()
                .find(|s| s.grade == 2)
                .and_then(|s| s.distance_km)
                .is_some_and(|d| d <= nearest + SAME_DISTANCE_KM),
        ),
        _ => None,
    };
    let unrelated_shown = (relevant == 0).then(|| shown.iter().any(|s| s.as_match));
    let false_alarm = (fitting > 0).then_some(says_weak);
    QueryFigures {
        label,
        ndcg5,
        hit1,
        p3,
        nearest_first,
        unrelated_shown,
        false_alarm,
        top: shown
            .iter()
            .take(5)
            .map(|s| (s.grade, s.name.clone(), s.distance_km, s.as_match, s.explain.clone()))
            .collect(),
    }
}

/// The figures over the whole set.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub queries: usize,
    pub ndcg5: f64,
    pub hit1: f64,
    pub p3: f64,
    pub nearest_first: f64,
    pub unrelated_shown: f64,
    pub false_alarm: f64,
    /// How many queries each figure is over.
    pub counts: [usize; 6],
}

fn mean(values: impl Iterator<Item = f64>) -> (f64, usize) {
    let (sum, n) = values.fold((0.0, 0), |(s, n), v| (s + v, n + 1));
    (if n == 0 { 0.0 } else { sum / n as f64 }, n)
}

fn share(values: impl Iterator<Item = bool>) -> (f64, usize) {
    mean(values.map(|b| if b { 1.0 } else { 0.0 }))
}

impl Summary {
    pub fn of(figures: &[QueryFigures]) -> Self {
        let (ndcg5, a) = mean(figures.iter().filter_map(|f| f.ndcg5));
        let (hit1, b) = share(figures.iter().filter_map(|f| f.hit1));
        let (p3, c) = mean(figures.iter().filter_map(|f| f.p3));
        let (nearest_first, d) = share(figures.iter().filter_map(|f| f.nearest_first));
        let (unrelated_shown, e) = share(figures.iter().filter_map(|f| f.unrelated_shown));
        let (false_alarm, g) = share(figures.iter().filter_map(|f| f.false_alarm));
        Summary {
            queries: figures.len(),
            ndcg5,
            hit1,
            p3,
            nearest_first,
            unrelated_shown,
            false_alarm,
            counts: [a, b, c, d, e, g],
        }
    }

    /// The figures as lines for people.
    pub fn lines(&self) -> Vec<String> {
        let c = self.counts;
        vec![
            format!("judged queries                          {}", self.queries),
            format!("nDCG@5                                  {:.3}  (over {} queries)", self.ndcg5, c[0]),
            format!("hit@1 (a fitting listing first)         {:.3}  (over {})", self.hit1, c[1]),
            format!("precision@3                             {:.3}  (over {})", self.p3, c[2]),
            format!("nearest fitting listing first           {:.3}  (over {})", self.nearest_first, c[3]),
            format!("unrelated shown as matches, none fits   {:.3}  (over {})", self.unrelated_shown, c[4]),
            format!("'nothing close' said though one fits    {:.3}  (over {})", self.false_alarm, c[5]),
        ]
    }
}
