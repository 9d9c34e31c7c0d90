//! Tensors as JSON: nested lists of numbers read flat with their shape, and flat values written
//! back nested by theirs. The predict route and KServe V2's JSON tensors share them.

use gpuproxy_errors::ErrorCode;
use serde_json::Value;

use crate::Error;

/// Reads nested lists of numbers into `values`, and their sizes per depth into `shape`; ragged
/// lists (of different lengths, or numbers beside lists) and anything but numbers are refused.
pub fn flatten(
    value: &Value,
    depth: usize,
    values: &mut Vec<f32>,
    shape: &mut Vec<i64>,
) -> Result<(), Error> {
    let bad = |why: &str| Error::new(ErrorCode::ValidationFailed, format!("input {why}")).with_field("input");
    match value {
        Value::Number(number) => {
            // Numbers sit at the deepest level, and only there.
            if depth != shape.len() {
                return Err(bad("is ragged: numbers and lists are mixed at one level"));
            }
            #[expect(clippy::cast_possible_truncation, reason = "the model takes FP32")]
            values.push(
                number
                    .as_f64()
                    .ok_or_else(|| bad("holds a number out of range"))? as f32,
            );
            Ok(())
        }
        Value::Array(items) => {
            let length = i64::try_from(items.len()).unwrap_or(i64::MAX);
            match shape.get(depth) {
                Some(known) if *known != length => return Err(bad("is ragged: its lists differ in length")),
                Some(_) => {}
                // A new level is only opened before any number was read.
                None if depth == shape.len() && values.is_empty() => shape.push(length),
                None => return Err(bad("is ragged: numbers and lists are mixed at one level")),
            }
            items
                .iter()
                .try_for_each(|item| flatten(item, depth + 1, values, shape))
        }
        _ => Err(bad("must be a list of numbers, or nested lists of them")),
    }
}

/// `values` as nested lists of `shape`.
pub fn nest(values: &[f32], shape: &[i64]) -> Value {
    match shape {
        [] | [_] => Value::from(values.iter().map(|value| f64::from(*value)).collect::<Vec<_>>()),
        [first, rest @ ..] => {
            let rows = usize::try_from(*first).unwrap_or(0);
            let size = values.len().checked_div(rows).unwrap_or(0);
            Value::from(
                (0..rows)
                    .map(|row| nest(&values[row * size..(row + 1) * size], rest))
                    .collect::<Vec<_>>(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn flat(input: Value) -> Result<(Vec<f32>, Vec<i64>), Error> {
        let (mut values, mut shape) = (Vec::new(), Vec::new());
        flatten(&input, 0, &mut values, &mut shape).map(|()| (values, shape))
    }

    #[test]
    fn nested_lists_give_their_shape_and_ragged_ones_are_refused() {
        assert_eq!(
            flat(json!([[1, 2], [3, 4], [5, 6]])).ok(),
            Some((vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], vec![3, 2]))
        );
        assert_eq!(flat(json!([1.5, 2.5])).ok(), Some((vec![1.5, 2.5], vec![2])));
        for ragged in [
            json!([[1, 2], [3]]),
            json!([1, [2]]),
            json!([[2], 1]),
            json!([[1], "x"]),
        ] {
            assert!(flat(ragged.clone()).is_err(), "{ragged}");
        }
    }

    #[test]
    fn outputs_nest_by_their_shape() {
        assert_eq!(
            nest(&[1.0, 2.0, 3.0, 4.0], &[2, 2]),
            json!([[1.0, 2.0], [3.0, 4.0]])
        );
        assert_eq!(nest(&[], &[2, 0]), json!([[], []]));
        assert_eq!(nest(&[7.0], &[1]), json!([7.0]));
    }
}
