//! Trino's varbinary functions as UDFs, with Trino's results: `to_hex` (upper-case digits),
//! `from_hex` (either case), `to_base64` / `from_base64` (padded), `to_big_endian_32/64` and
//! `from_big_endian_32/64` (exactly 4 / 8 bytes). A value they cannot take fails the query with
//! Trino's INVALID_FUNCTION_ARGUMENT.

use std::sync::Arc;

use arrow::array::*;
use arrow::datatypes::DataType;
use base64::Engine as _;
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};

use crate::failure::Failure;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    ToHex,
    FromHex,
    ToBase64,
    FromBase64,
    ToBigEndian32,
    ToBigEndian64,
    FromBigEndian32,
    FromBigEndian64,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct BinaryFn {
    name: &'static str,
    op: Op,
    signature: Signature,
}

/// The functions, to register in a session.
pub fn binary_functions() -> Vec<ScalarUDF> {
    let f = |name, op, input: DataType| {
        ScalarUDF::new_from_impl(BinaryFn { name, op, signature: Signature::exact(vec![input], Volatility::Immutable) })
    };
    vec![
        f("to_hex", Op::ToHex, DataType::Binary),
        f("from_hex", Op::FromHex, DataType::Utf8),
        f("to_base64", Op::ToBase64, DataType::Binary),
        f("from_base64", Op::FromBase64, DataType::Utf8),
        f("to_big_endian_32", Op::ToBigEndian32, DataType::Int32),
        f("to_big_endian_64", Op::ToBigEndian64, DataType::Int64),
        f("from_big_endian_32", Op::FromBigEndian32, DataType::Binary),
        f("from_big_endian_64", Op::FromBigEndian64, DataType::Binary),
    ]
}

fn invalid(message: String) -> DataFusionError {
    DataFusionError::External(Box::new(Failure::user("INVALID_FUNCTION_ARGUMENT", message)))
}

impl ScalarUDFImpl for BinaryFn {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(match self.op {
            Op::ToHex | Op::ToBase64 => DataType::Utf8,
            Op::FromHex | Op::FromBase64 | Op::ToBigEndian32 | Op::ToBigEndian64 => DataType::Binary,
            Op::FromBigEndian32 => DataType::Int32,
            Op::FromBigEndian64 => DataType::Int64,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let a = &arrays[0];
        let out: ArrayRef = match self.op {
            Op::ToHex => Arc::new(a.as_binary::<i32>().iter().map(|v| v.map(hex_upper)).collect::<StringArray>()),
            Op::ToBase64 => Arc::new(
                a.as_binary::<i32>()
                    .iter()
                    .map(|v| v.map(|b| base64::engine::general_purpose::STANDARD.encode(b)))
                    .collect::<StringArray>(),
            ),
            Op::FromHex => Arc::new(
                a.as_string::<i32>()
                    .iter()
                    .map(|v| v.map(|s| hex::decode(s).map_err(|_| invalid(format!("invalid hex string: {s:?}")))).transpose())
                    .collect::<Result<BinaryArray>>()?,
            ),
            Op::FromBase64 => Arc::new(
                a.as_string::<i32>()
                    .iter()
                    .map(|v| {
                        v.map(|s| base64::engine::general_purpose::STANDARD.decode(s).map_err(|e| invalid(format!("invalid base64: {e}"))))
                            .transpose()
                    })
                    .collect::<Result<BinaryArray>>()?,
            ),
            Op::ToBigEndian32 => Arc::new(
                a.as_primitive::<arrow::datatypes::Int32Type>()
                    .iter()
                    .map(|v| v.map(|n| n.to_be_bytes().to_vec()))
                    .collect::<BinaryArray>(),
            ),
            Op::ToBigEndian64 => Arc::new(
                a.as_primitive::<arrow::datatypes::Int64Type>()
                    .iter()
                    .map(|v| v.map(|n| n.to_be_bytes().to_vec()))
                    .collect::<BinaryArray>(),
            ),
            Op::FromBigEndian32 => Arc::new(
                a.as_binary::<i32>()
                    .iter()
                    .map(|v| v.map(|b| <[u8; 4]>::try_from(b).map(i32::from_be_bytes).map_err(|_| wrong_length(4, b.len()))).transpose())
                    .collect::<Result<Int32Array>>()?,
            ),
            Op::FromBigEndian64 => Arc::new(
                a.as_binary::<i32>()
                    .iter()
                    .map(|v| v.map(|b| <[u8; 8]>::try_from(b).map(i64::from_be_bytes).map_err(|_| wrong_length(8, b.len()))).transpose())
                    .collect::<Result<Int64Array>>()?,
            ),
        };
        Ok(ColumnarValue::Array(out))
    }
}

fn wrong_length(expected: usize, got: usize) -> DataFusionError {
    invalid(format!("expected {expected}-byte input, but got instead: {got}"))
}

/// Hex digits as Trino writes them: upper case, no separator.
fn hex_upper(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}
