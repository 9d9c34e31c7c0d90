//! Reading an ONNX model's graph: the parts of `onnx.proto` (ModelProto, GraphProto, ValueInfoProto,
//! TypeProto, TensorShapeProto) that tell whether a file is a model and what tensors it takes and
//! gives. Fields not declared here (weights, attributes) are skipped by the decoder. The messages
//! are public so that tests can build models.

use prost::Message;

/// `onnx.ModelProto`, in part.
#[derive(Clone, PartialEq, Message)]
pub struct ModelProto {
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    #[prost(string, tag = "2")]
    pub producer_name: String,
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
    #[prost(message, repeated, tag = "25")]
    pub functions: Vec<FunctionProto>,
}

/// `onnx.FunctionProto`, in part: its nodes, which may hold tensors.
#[derive(Clone, PartialEq, Message)]
pub struct FunctionProto {
    #[prost(message, repeated, tag = "7")]
    pub node: Vec<NodeProto>,
}

/// `onnx.OperatorSetIdProto`.
#[derive(Clone, PartialEq, Message)]
pub struct OperatorSetIdProto {
    #[prost(string, tag = "1")]
    pub domain: String,
    #[prost(int64, tag = "2")]
    pub version: i64,
}

/// `onnx.GraphProto`, in part.
#[derive(Clone, PartialEq, Message)]
pub struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "15")]
    pub sparse_initializer: Vec<SparseTensorProto>,
}

/// `onnx.SparseTensorProto`, in part.
#[derive(Clone, PartialEq, Message)]
pub struct SparseTensorProto {
    #[prost(message, optional, tag = "1")]
    pub values: Option<TensorProto>,
    #[prost(message, optional, tag = "2")]
    pub indices: Option<TensorProto>,
}

/// `onnx.NodeProto`, in part.
#[derive(Clone, PartialEq, Message)]
pub struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    #[prost(string, tag = "4")]
    pub op_type: String,
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
}

/// `onnx.AttributeProto`, in part: the tensors and graphs an attribute may hold.
#[derive(Clone, PartialEq, Message)]
pub struct AttributeProto {
    #[prost(message, optional, tag = "5")]
    pub t: Option<TensorProto>,
    #[prost(message, optional, tag = "6")]
    pub g: Option<GraphProto>,
    #[prost(message, repeated, tag = "10")]
    pub tensors: Vec<TensorProto>,
    #[prost(message, repeated, tag = "11")]
    pub graphs: Vec<GraphProto>,
    #[prost(message, optional, tag = "22")]
    pub sparse_tensor: Option<SparseTensorProto>,
    #[prost(message, repeated, tag = "23")]
    pub sparse_tensors: Vec<SparseTensorProto>,
}

/// `onnx.TensorProto`, in part: its name (older models list weights among the graph's inputs) and
/// whether its data lives in another file, which is refused: ONNX Runtime would read that file
/// from the server's disk.
#[derive(Clone, PartialEq, Message)]
pub struct TensorProto {
    #[prost(string, tag = "8")]
    pub name: String,
    #[prost(message, repeated, tag = "13")]
    pub external_data: Vec<StringStringEntryProto>,
    /// 1: EXTERNAL.
    #[prost(int32, tag = "14")]
    pub data_location: i32,
}

/// `onnx.StringStringEntryProto`.
#[derive(Clone, PartialEq, Message)]
pub struct StringStringEntryProto {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

impl TensorProto {
    fn is_external(&self) -> bool {
        self.data_location == 1 || !self.external_data.is_empty()
    }
}

/// Whether any tensor of `graph` (its weights, its nodes' attributes, its subgraphs) keeps its
/// data in another file.
fn refers_outside(graph: &GraphProto) -> bool {
    graph.initializer.iter().any(TensorProto::is_external)
        || graph.sparse_initializer.iter().any(sparse_refers_outside)
        || nodes_refer_outside(&graph.node)
}

fn sparse_refers_outside(sparse: &SparseTensorProto) -> bool {
    sparse
        .values
        .iter()
        .chain(&sparse.indices)
        .any(TensorProto::is_external)
}

fn nodes_refer_outside(nodes: &[NodeProto]) -> bool {
    nodes.iter().flat_map(|node| &node.attribute).any(|attribute| {
        attribute
            .t
            .iter()
            .chain(&attribute.tensors)
            .any(TensorProto::is_external)
            || attribute
                .sparse_tensor
                .iter()
                .chain(&attribute.sparse_tensors)
                .any(sparse_refers_outside)
            || attribute.g.iter().chain(&attribute.graphs).any(refers_outside)
    })
}

/// `onnx.ValueInfoProto`.
#[derive(Clone, PartialEq, Message)]
pub struct ValueInfoProto {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
}

/// `onnx.TypeProto`: only its tensor case.
#[derive(Clone, PartialEq, Message)]
pub struct TypeProto {
    #[prost(message, optional, tag = "1")]
    pub tensor_type: Option<TensorTypeProto>,
}

/// `onnx.TypeProto.Tensor`.
#[derive(Clone, PartialEq, Message)]
pub struct TensorTypeProto {
    #[prost(int32, tag = "1")]
    pub elem_type: i32,
    #[prost(message, optional, tag = "2")]
    pub shape: Option<TensorShapeProto>,
}

/// `onnx.TensorShapeProto`.
#[derive(Clone, PartialEq, Message)]
pub struct TensorShapeProto {
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<Dimension>,
}

/// `onnx.TensorShapeProto.Dimension`: a size, or a name for a size of any value.
#[derive(Clone, PartialEq, Message)]
pub struct Dimension {
    #[prost(int64, optional, tag = "1")]
    pub dim_value: Option<i64>,
    #[prost(string, optional, tag = "2")]
    pub dim_param: Option<String>,
}

/// A tensor a model takes or gives, in KServe V2's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tensor {
    /// Its name in the graph.
    pub name: String,
    /// `FP32`, `INT64`, `BYTES`, …
    pub datatype: String,
    /// Its dimensions; -1 for one of any size.
    pub shape: Vec<i64>,
}

/// What a model takes and gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Its inputs (weights excluded).
    pub inputs: Vec<Tensor>,
    /// Its outputs.
    pub outputs: Vec<Tensor>,
}

/// Reads `bytes` as an ONNX model; the error says what is wrong with it.
pub fn signature(bytes: &[u8]) -> Result<Signature, String> {
    let model = ModelProto::decode(bytes).map_err(|error| {
        format!("not an ONNX model (the protobuf does not decode: {error}); truncated or corrupt?")
    })?;
    if model.ir_version <= 0 {
        return Err("not an ONNX model: ir_version is missing".to_owned());
    }
    let graph = model.graph.ok_or("the ONNX model has no graph")?;
    if refers_outside(&graph)
        || model
            .functions
            .iter()
            .any(|function| nodes_refer_outside(&function.node))
    {
        return Err("the ONNX model keeps weights in external data files, which are not served: save it with all its data inside (onnx.save_model(model, path, save_as_external_data=False))".to_owned());
    }
    if graph.node.is_empty() {
        return Err("the ONNX graph has no node".to_owned());
    }
    let weights: std::collections::HashSet<&str> = graph
        .initializer
        .iter()
        .map(|tensor| tensor.name.as_str())
        .collect();
    let inputs: Vec<Tensor> = graph
        .input
        .iter()
        .filter(|input| !weights.contains(input.name.as_str()))
        .map(tensor)
        .collect::<Result<_, _>>()?;
    let outputs: Vec<Tensor> = graph.output.iter().map(tensor).collect::<Result<_, _>>()?;
    if inputs.is_empty() || outputs.is_empty() {
        return Err("the ONNX graph declares no input or no output".to_owned());
    }
    Ok(Signature { inputs, outputs })
}

fn tensor(value: &ValueInfoProto) -> Result<Tensor, String> {
    let tensor = value
        .r#type
        .as_ref()
        .and_then(|kind| kind.tensor_type.as_ref())
        .ok_or_else(|| {
            format!(
                "{:?} is not a tensor (sequences and maps are not served)",
                value.name
            )
        })?;
    let shape = tensor
        .shape
        .as_ref()
        .map(|shape| {
            shape
                .dim
                .iter()
                .map(|dim| dim.dim_value.filter(|size| *size > 0).unwrap_or(-1))
                .collect()
        })
        .unwrap_or_default();
    Ok(Tensor {
        name: value.name.clone(),
        datatype: datatype(tensor.elem_type)
            .ok_or_else(|| {
                format!(
                    "{:?} has element type {}, which is not served",
                    value.name, tensor.elem_type
                )
            })?
            .to_owned(),
        shape,
    })
}

/// KServe V2's name of an ONNX element type.
fn datatype(elem_type: i32) -> Option<&'static str> {
    Some(match elem_type {
        1 => "FP32",
        2 => "UINT8",
        3 => "INT8",
        4 => "UINT16",
        5 => "INT16",
        6 => "INT32",
        7 => "INT64",
        8 => "BYTES",
        9 => "BOOL",
        10 => "FP16",
        11 => "FP64",
        12 => "UINT32",
        13 => "UINT64",
        16 => "BF16",
        _ => return None,
    })
}

/// A model of one node `op_type` over `node_inputs` giving `output`, with `weights` (names only) and
/// the graph's `inputs` and `outputs`, for building models in tests.
pub fn one_node_model(
    op_type: &str,
    node_inputs: &[&str],
    weights: &[&str],
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
) -> ModelProto {
    ModelProto {
        ir_version: 8,
        producer_name: "gpuproxy-tests".to_owned(),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(GraphProto {
            name: op_type.to_ascii_lowercase(),
            node: vec![NodeProto {
                input: node_inputs.iter().map(|name| (*name).to_owned()).collect(),
                output: outputs.iter().map(|output| output.name.clone()).collect(),
                op_type: op_type.to_owned(),
                ..NodeProto::default()
            }],
            initializer: weights
                .iter()
                .map(|name| TensorProto {
                    name: (*name).to_owned(),
                    ..TensorProto::default()
                })
                .collect(),
            input: inputs,
            output: outputs,
            ..GraphProto::default()
        }),
        ..ModelProto::default()
    }
}

/// A tensor's value info, for building models in tests: `elem_type` (1 = float) and `shape`
/// (-1 for any size).
pub fn value_info(name: &str, elem_type: i32, shape: &[i64]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.to_owned(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type,
                shape: Some(TensorShapeProto {
                    dim: shape
                        .iter()
                        .map(|&size| Dimension {
                            dim_value: (size > 0).then_some(size),
                            dim_param: (size <= 0).then(|| "batch".to_owned()),
                        })
                        .collect(),
                }),
            }),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add_model() -> Vec<u8> {
        one_node_model(
            "Add",
            &["x", "y"],
            &["y"],
            vec![value_info("x", 1, &[-1, 4]), value_info("y", 1, &[4])],
            vec![value_info("sum", 1, &[-1, 4])],
        )
        .encode_to_vec()
    }

    #[test]
    fn a_model_gives_its_inputs_without_weights_and_its_outputs() {
        let signature = signature(&add_model()).expect("a model");
        assert_eq!(
            signature.inputs,
            vec![Tensor {
                name: "x".to_owned(),
                datatype: "FP32".to_owned(),
                shape: vec![-1, 4]
            }]
        );
        assert_eq!(signature.outputs[0].name, "sum");
    }

    #[test]
    fn weights_in_external_files_are_refused_wherever_they_hide() {
        let mut model = ModelProto::decode(add_model().as_slice()).expect("a model");
        model.graph.as_mut().expect("a graph").initializer[0].data_location = 1;
        assert!(signature(&model.encode_to_vec()).is_err_and(|why| why.contains("external data")));
        let graph = model.graph.as_mut().expect("a graph");
        graph.initializer[0].data_location = 0;
        graph.node[0].attribute.push(AttributeProto {
            g: Some(GraphProto {
                initializer: vec![TensorProto {
                    name: "w".to_owned(),
                    external_data: vec![StringStringEntryProto {
                        key: "location".to_owned(),
                        value: "../../etc/passwd".to_owned(),
                    }],
                    data_location: 0,
                }],
                ..GraphProto::default()
            }),
            ..AttributeProto::default()
        });
        assert!(signature(&model.encode_to_vec()).is_err_and(|why| why.contains("external data")));
    }

    #[test]
    fn truncated_and_foreign_bytes_are_not_models() {
        let model = add_model();
        assert!(signature(&model[..model.len() - 7]).is_err());
        assert!(signature(b"\x08\x08").is_err(), "no graph");
        assert!(signature(b"hello world").is_err());
    }
}
