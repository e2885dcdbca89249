/**
 * Which files an ONNX model keeps tensors in beside itself (onnx.proto's external data:
 * `data_location: EXTERNAL` with a `location` entry). `onnx.save_model(..., save_as_external_data=True)`
 * writes every tensor of 1 KiB or more to such a file, and `mlflow.onnx.log_model` saves that way
 * by default. plinth hashes, caches and loads one self-contained ONNX file, so the registry refuses
 * a model that needs others, naming them and the option that avoids them.
 *
 * Read with protobufjs reflection over the onnx.proto fields that can hold a tensor (field numbers
 * of https://github.com/onnx/onnx/blob/main/onnx/onnx.proto); every other field is skipped.
 */
import protobuf from "protobufjs";

/** onnx.proto's TensorProto.DataLocation.EXTERNAL. */
const EXTERNAL = 1;

const root = protobuf.Root.fromJSON({
  nested: {
    StringStringEntryProto: {
      fields: { key: { type: "string", id: 1 }, value: { type: "string", id: 2 } },
    },
    TensorProto: {
      fields: {
        name: { type: "string", id: 8 },
        externalData: { rule: "repeated", type: "StringStringEntryProto", id: 13 },
        dataLocation: { type: "int32", id: 14 },
      },
    },
    SparseTensorProto: {
      fields: { values: { type: "TensorProto", id: 1 }, indices: { type: "TensorProto", id: 2 } },
    },
    AttributeProto: {
      fields: {
        t: { type: "TensorProto", id: 5 },
        g: { type: "GraphProto", id: 6 },
        tensors: { rule: "repeated", type: "TensorProto", id: 10 },
        graphs: { rule: "repeated", type: "GraphProto", id: 11 },
        sparseTensor: { type: "SparseTensorProto", id: 22 },
        sparseTensors: { rule: "repeated", type: "SparseTensorProto", id: 23 },
      },
    },
    NodeProto: { fields: { attribute: { rule: "repeated", type: "AttributeProto", id: 5 } } },
    GraphProto: {
      fields: {
        node: { rule: "repeated", type: "NodeProto", id: 1 },
        initializer: { rule: "repeated", type: "TensorProto", id: 5 },
        sparseInitializer: { rule: "repeated", type: "SparseTensorProto", id: 15 },
      },
    },
    FunctionProto: { fields: { node: { rule: "repeated", type: "NodeProto", id: 7 } } },
    ModelProto: {
      fields: {
        graph: { type: "GraphProto", id: 7 },
        functions: { rule: "repeated", type: "FunctionProto", id: 25 },
      },
    },
  },
});
const ModelProto = root.lookupType("ModelProto");

interface Tensor {
  externalData?: { key?: string; value?: string }[];
  dataLocation?: number;
}
interface Sparse {
  values?: Tensor;
  indices?: Tensor;
}
interface Attribute {
  t?: Tensor;
  g?: Graph;
  tensors?: Tensor[];
  graphs?: Graph[];
  sparseTensor?: Sparse;
  sparseTensors?: Sparse[];
}
interface Node {
  attribute?: Attribute[];
}
interface Graph {
  node?: Node[];
  initializer?: Tensor[];
  sparseInitializer?: Sparse[];
}
interface Model {
  graph?: Graph;
  functions?: { node?: Node[] }[];
}

function* sparseTensors(sparse: Sparse | undefined): Generator<Tensor> {
  if (sparse?.values !== undefined) yield sparse.values;
  if (sparse?.indices !== undefined) yield sparse.indices;
}

function* nodeTensors(nodes: readonly Node[] | undefined): Generator<Tensor> {
  for (const node of nodes ?? []) {
    for (const a of node.attribute ?? []) {
      if (a.t !== undefined) yield a.t;
      yield* a.tensors ?? [];
      yield* sparseTensors(a.sparseTensor);
      for (const s of a.sparseTensors ?? []) yield* sparseTensors(s);
      if (a.g !== undefined) yield* graphTensors(a.g);
      for (const g of a.graphs ?? []) yield* graphTensors(g);
    }
  }
}

function* graphTensors(graph: Graph): Generator<Tensor> {
  yield* graph.initializer ?? [];
  for (const s of graph.sparseInitializer ?? []) yield* sparseTensors(s);
  yield* nodeTensors(graph.node);
}

/**
 * The files (relative to the model) that the model's external tensors live in, sorted and
 * without repeats; empty for a self-contained model. Throws when `bytes` is not a ModelProto.
 */
export function externalDataFiles(bytes: Uint8Array): string[] {
  const model = ModelProto.toObject(ModelProto.decode(bytes), { defaults: false }) as Model;
  const files = new Set<string>();
  const tensors = [
    ...(model.graph === undefined ? [] : graphTensors(model.graph)),
    ...(model.functions ?? []).flatMap((f) => [...nodeTensors(f.node)]),
  ];
  for (const tensor of tensors) {
    if (tensor.dataLocation !== EXTERNAL) continue;
    const location = tensor.externalData?.find((e) => e.key === "location")?.value;
    files.add(location ?? "(no location)");
  }
  return [...files].sort();
}
