//! Secondary suppression: withholding more cells of a group whose total is known, so a count
//! withheld for being small cannot be worked out as the total minus the counts shown.
//!
//! A group is the cells of one table that add up to a total a reader can learn (the age bands
//! of `equity` add up to the referrals in the range, which the sex bands and the other reports
//! show). Counts from 1 to 4 are withheld first. Then, while a reader could still pin one of the
//! withheld counts down, the smallest count still shown (never a 0: that says nothing) is
//! withheld too. A group is safe when nothing is withheld; or when two or more counts under 5
//! are withheld and their total (the group's total less the counts shown) is at least 5 and
//! neither all ones nor all fours; or when a larger count has been withheld as well, two or more
//! are withheld and together they are at least 5. In that last case every withheld cell of the
//! group is marked the same way ([`Cell::Withheld`]), so a reader cannot tell which of them is
//! the small one.

use super::{Cell, SMALL_NUMBER};

/// Which counts of a group to withhold (`true`), and whether any was withheld only to protect
/// another (then all the group's withheld cells read alike).
pub fn withheld(counts: &[i64]) -> (Vec<bool>, bool) {
    let small = |n: i64| n > 0 && n < SMALL_NUMBER;
    let mut hidden: Vec<bool> = counts.iter().map(|&n| small(n)).collect();
    let mut secondary = false;
    loop {
        let values: Vec<i64> = counts.iter().zip(&hidden).filter(|(_, h)| **h).map(|(n, _)| *n).collect();
        let (k, total) = (values.len() as i64, values.iter().sum::<i64>());
        let safe =
            k == 0 || (k >= 2 && total >= SMALL_NUMBER && (secondary || (total > k && total < (SMALL_NUMBER - 1) * k)));
        if safe {
            break;
        }
        let next = counts
            .iter()
            .enumerate()
            .filter(|(i, n)| !hidden[*i] && **n > 0)
            .min_by_key(|(i, n)| (**n, *i))
            .map(|(i, _)| i);
        match next {
            Some(i) => {
                hidden[i] = true;
                secondary = true;
            }
            // Every count of the group is withheld: nothing more can be done within it.
            None => break,
        }
    }
    (hidden, secondary)
}

/// Withholds, in the report rows `group`, the counts in column `count` (their real values in
/// `counts`, in the same order) that [`withheld`] picks, and the cells of `linked` columns
/// computed from them (a share of the total).
pub fn protect(rows: &mut [Vec<Cell>], group: &[usize], counts: &[i64], count: usize, linked: &[usize]) {
    let (hidden, secondary) = withheld(counts);
    let mark = if secondary { Cell::Withheld } else { Cell::Suppressed };
    for (&row, hide) in group.iter().zip(hidden) {
        if !hide {
            continue;
        }
        for column in std::iter::once(count).chain(linked.iter().copied()) {
            if let Some(cell) = rows.get_mut(row).and_then(|r| r.get_mut(column)) {
                *cell = mark.clone();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden(counts: &[i64]) -> Vec<i64> {
        let (mask, _) = withheld(counts);
        counts.iter().zip(mask).filter(|(_, h)| *h).map(|(n, _)| *n).collect()
    }

    #[test]
    fn one_small_count_takes_the_next_smallest_with_it() {
        assert_eq!(hidden(&[3, 17, 0, 40]), vec![3, 17]);
        assert!(withheld(&[3, 17, 0, 40]).1, "the larger count is withheld to protect the small one");
    }

    #[test]
    fn nothing_small_withholds_nothing() {
        assert_eq!(hidden(&[5, 0, 12]), Vec::<i64>::new());
        assert!(!withheld(&[5, 0, 12]).1);
    }

    #[test]
    fn two_small_counts_that_add_to_five_or_more_are_enough_on_their_own() {
        assert_eq!(hidden(&[2, 3, 30]), vec![2, 3]);
        assert!(!withheld(&[2, 3, 30]).1);
    }

    #[test]
    fn small_counts_a_reader_could_still_pin_down_take_another() {
        // 1 + 1: both must be 1. 4 + 4: both must be 4. 1 + 2 = 3: under 5.
        assert_eq!(hidden(&[1, 1, 9, 20]), vec![1, 1, 9]);
        assert_eq!(hidden(&[4, 4, 9, 20]), vec![4, 4, 9]);
        assert_eq!(hidden(&[1, 2, 6, 20]), vec![1, 2, 6]);
    }

    #[test]
    fn a_group_whose_only_other_count_is_zero_withholds_what_it_can() {
        assert_eq!(hidden(&[3, 0, 0]), vec![3]);
    }

    #[test]
    fn protect_marks_every_withheld_cell_alike_when_a_larger_one_was_needed() {
        let mut rows: Vec<Vec<Cell>> =
            [3, 17, 40].iter().map(|&n| vec![Cell::Text("x".into()), Cell::people(n), Cell::Percent(1.0)]).collect();
        protect(&mut rows, &[0, 1, 2], &[3, 17, 40], 1, &[2]);
        assert_eq!(rows[0][1..], [Cell::Withheld, Cell::Withheld]);
        assert_eq!(rows[1][1..], [Cell::Withheld, Cell::Withheld]);
        assert_eq!(rows[2][1], Cell::Count(40));
    }
}
