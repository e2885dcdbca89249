/**
 * A minimal ONNX ModelProto codec: the subset of onnx.proto that plinth writes (graphs of standard
 * operators with float32 initializers) and reads back (metadata_props), defined here through
 * protobufjs reflection with onnx.proto's field numbers, so no .proto file is needed at run time.
 *
 * Field numbers are those of https://github.com/onnx/onnx/blob/main/onnx/onnx.proto (IR version 8).
 */
import protobuf from "protobufjs";
import { METADATA_KEY, parseModelMetadata, type ModelMetadata } from "./metadata.js";

/** onnx.proto's TensorProto.DataType values used here. */
export const TensorDataType = { FLOAT: 1, INT64: 7 } as const;

/** onnx.proto's AttributeProto.AttributeType values used here. */
const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;

const onnxRoot = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        StringStringEntryProto: {
          fields: { key: { type: "string", id: 1 }, value: { type: "string", id: 2 } },
        },
        OperatorSetIdProto: {
          fields: { domain: { type: "string", id: 1 }, version: { type: "int64", id: 2 } },
        },
        TensorProto: {
          fields: {
            dims: { rule: "repeated", type: "int64", id: 1 },
            dataType: { type: "int32", id: 2 },
            floatData: { rule: "repeated", type: "float", id: 4 },
            int64Data: { rule: "repeated", type: "int64", id: 7 },
            name: { type: "string", id: 8 },
            rawData: { type: "bytes", id: 9 },
            docString: { type: "string", id: 12 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: "string", id: 1 },
            f: { type: "float", id: 2 },
            i: { type: "int64", id: 3 },
            s: { type: "bytes", id: 4 },
            floats: { rule: "repeated", type: "float", id: 7 },
            ints: { rule: "repeated", type: "int64", id: 8 },
            docString: { type: "string", id: 13 },
            type: { type: "int32", id: 20 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: "repeated", type: "string", id: 1 },
            output: { rule: "repeated", type: "string", id: 2 },
            name: { type: "string", id: 3 },
            opType: { type: "string", id: 4 },
            attribute: { rule: "repeated", type: "AttributeProto", id: 5 },
            docString: { type: "string", id: 6 },
            domain: { type: "string", id: 7 },
          },
        },
        TensorShapeProto: {
          fields: { dim: { rule: "repeated", type: "Dimension", id: 1 } },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ["dimValue", "dimParam"] } },
              fields: { dimValue: { type: "int64", id: 1 }, dimParam: { type: "string", id: 2 } },
            },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ["tensorType"] } },
          fields: { tensorType: { type: "Tensor", id: 1 } },
          nested: {
            Tensor: {
              fields: { elemType: { type: "int32", id: 1 }, shape: { type: "TensorShapeProto", id: 2 } },
            },
          },
        },
        ValueInfoProto: {
          fields: {
            name: { type: "string", id: 1 },
            type: { type: "TypeProto", id: 2 },
            docString: { type: "string", id: 3 },
          },
        },
        GraphProto: {
          fields: {
            node: { rule: "repeated", type: "NodeProto", id: 1 },
            name: { type: "string", id: 2 },
            initializer: { rule: "repeated", type: "TensorProto", id: 5 },
            docString: { type: "string", id: 10 },
            input: { rule: "repeated", type: "ValueInfoProto", id: 11 },
            output: { rule: "repeated", type: "ValueInfoProto", id: 12 },
          },
        },
        ModelProto: {
          fields: {
            irVersion: { type: "int64", id: 1 },
            producerName: { type: "string", id: 2 },
            producerVersion: { type: "string", id: 3 },
            domain: { type: "string", id: 4 },
            modelVersion: { type: "int64", id: 5 },
            docString: { type: "string", id: 6 },
            graph: { type: "GraphProto", id: 7 },
            opsetImport: { rule: "repeated", type: "OperatorSetIdProto", id: 8 },
            metadataProps: { rule: "repeated", type: "StringStringEntryProto", id: 14 },
          },
        },
      },
    },
  },
});

const ModelProto = onnxRoot.lookupType("onnx.ModelProto");

/** IR version 8 pairs with opsets up to 18; onnxruntime-node 1.30 loads both. */
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 13;

/** A float32 constant of the graph (a weight or bias). */
export interface OnnxInitializer {
  name: string;
  dims: readonly number[];
  data: Float32Array;
}

export type OnnxAttributeValue = number | readonly number[] | string;

/** One operator node. Integer-valued attributes must be given via {@link OnnxNode.intAttributes}. */
export interface OnnxNode {
  opType: string;
  name: string;
  inputs: readonly string[];
  outputs: readonly string[];
  /** INT / INTS attributes (e.g. `kernel_shape`, `axis`). */
  intAttributes?: Record<string, number | readonly number[]>;
  /** FLOAT / FLOATS attributes (e.g. Gemm's `alpha`). */
  floatAttributes?: Record<string, number | readonly number[]>;
  /** STRING attributes (e.g. `auto_pad`). */
  stringAttributes?: Record<string, string>;
}

/** A float32 graph input or output; a string dimension is symbolic (e.g. `"N"` for the batch). */
export interface OnnxValueInfo {
  name: string;
  shape: readonly (number | string)[];
}

export interface OnnxModelSpec {
  graphName: string;
  producerName: string;
  producerVersion: string;
  docString?: string;
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxInitializer[];
  metadataProps: Record<string, string>;
  opset?: number;
}

function floatTensorBytes(data: Float32Array): Uint8Array {
  // raw_data is little-endian; copy through a DataView so the result does not depend on host order.
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i] as number, true);
  return out;
}

function valueInfo(v: OnnxValueInfo) {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: TensorDataType.FLOAT,
        shape: { dim: v.shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attributes(node: OnnxNode) {
  const out: object[] = [];
  for (const [name, v] of Object.entries(node.intAttributes ?? {})) {
    out.push(
      typeof v === "number"
        ? { name, type: AttributeType.INT, i: v }
        : { name, type: AttributeType.INTS, ints: [...v] },
    );
  }
  for (const [name, v] of Object.entries(node.floatAttributes ?? {})) {
    out.push(
      typeof v === "number"
        ? { name, type: AttributeType.FLOAT, f: v }
        : { name, type: AttributeType.FLOATS, floats: [...v] },
    );
  }
  for (const [name, v] of Object.entries(node.stringAttributes ?? {})) {
    out.push({ name, type: AttributeType.STRING, s: new TextEncoder().encode(v) });
  }
  return out;
}

/** Serialises a graph to ONNX ModelProto bytes. */
export function encodeOnnxModel(spec: OnnxModelSpec): Uint8Array {
  for (const init of spec.initializers) {
    const expected = init.dims.reduce((a, b) => a * b, 1);
    if (expected !== init.data.length) {
      throw new Error(
        `initializer ${init.name}: dims [${init.dims.join(",")}] need ${expected} values, got ${init.data.length}`,
      );
    }
  }
  const message = ModelProto.fromObject({
    irVersion: ONNX_IR_VERSION,
    producerName: spec.producerName,
    producerVersion: spec.producerVersion,
    docString: spec.docString ?? "",
    opsetImport: [{ domain: "", version: spec.opset ?? ONNX_OPSET }],
    metadataProps: Object.entries(spec.metadataProps).map(([key, value]) => ({ key, value })),
    graph: {
      name: spec.graphName,
      node: spec.nodes.map((n) => ({
        name: n.name,
        opType: n.opType,
        input: [...n.inputs],
        output: [...n.outputs],
        attribute: attributes(n),
      })),
      initializer: spec.initializers.map((t) => ({
        name: t.name,
        dims: [...t.dims],
        dataType: TensorDataType.FLOAT,
        rawData: floatTensorBytes(t.data),
      })),
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
    },
  });
  return ModelProto.encode(message).finish();
}

interface DecodedModel {
  metadataProps?: { key?: string; value?: string }[];
  graph?: {
    initializer?: {
      name?: string;
      dims?: number[];
      dataType?: number;
      rawData?: Uint8Array;
      floatData?: number[];
    }[];
    node?: {
      name?: string;
      opType?: string;
      input?: string[];
      output?: string[];
      attribute?: {
        name?: string;
        type?: number;
        i?: number;
        f?: number;
        s?: Uint8Array;
        ints?: number[];
        floats?: number[];
      }[];
    }[];
  };
}

function decodeModel(bytes: Uint8Array): DecodedModel {
  try {
    return ModelProto.toObject(ModelProto.decode(bytes), { defaults: false, longs: Number }) as DecodedModel;
  } catch (err) {
    throw new Error(`not an ONNX model: ${(err as Error).message}`, { cause: err });
  }
}

/** Reads the float32 initializers (weights) of an ONNX file by name. */
export function readOnnxInitializers(bytes: Uint8Array): Map<string, OnnxInitializer> {
  const out = new Map<string, OnnxInitializer>();
  for (const t of decodeModel(bytes).graph?.initializer ?? []) {
    if (t.dataType !== TensorDataType.FLOAT || t.name === undefined) continue;
    let data: Float32Array;
    if (t.rawData !== undefined) {
      const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
      data = new Float32Array(t.rawData.byteLength / 4);
      for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(i * 4, true);
    } else {
      data = Float32Array.from(t.floatData ?? []);
    }
    out.set(t.name, { name: t.name, dims: t.dims ?? [], data });
  }
  return out;
}

/**
 * Reads the graph's nodes in order, with their INT(S), FLOAT(S) and STRING attributes (the subset
 * {@link encodeOnnxModel} writes). Used to rebuild a TypeScript network from an ONNX file.
 */
export function readOnnxNodes(bytes: Uint8Array): OnnxNode[] {
  return (decodeModel(bytes).graph?.node ?? []).map((n) => {
    const intAttributes: Record<string, number | number[]> = {};
    const floatAttributes: Record<string, number | number[]> = {};
    const stringAttributes: Record<string, string> = {};
    for (const a of n.attribute ?? []) {
      const name = a.name ?? "";
      if (a.type === AttributeType.INT) intAttributes[name] = a.i ?? 0;
      else if (a.type === AttributeType.INTS) intAttributes[name] = a.ints ?? [];
      else if (a.type === AttributeType.FLOAT) floatAttributes[name] = a.f ?? 0;
      else if (a.type === AttributeType.FLOATS) floatAttributes[name] = a.floats ?? [];
      else if (a.type === AttributeType.STRING) stringAttributes[name] = new TextDecoder().decode(a.s);
    }
    return {
      opType: n.opType ?? "",
      name: n.name ?? "",
      inputs: n.input ?? [],
      outputs: n.output ?? [],
      intAttributes,
      floatAttributes,
      stringAttributes,
    };
  });
}

/** Reads the `metadata_props` map of an ONNX file. Throws a clear error on bytes that are not ONNX. */
export function readOnnxMetadataProps(bytes: Uint8Array): Record<string, string> {
  const decoded = decodeModel(bytes);
  const props: Record<string, string> = {};
  for (const entry of decoded.metadataProps ?? []) {
    if (entry.key !== undefined) props[entry.key] = entry.value ?? "";
  }
  return props;
}

/** Reads and validates the plinth metadata of an ONNX file; `source` names the file in errors. */
export function readModelMetadata(bytes: Uint8Array, source: string): ModelMetadata {
  let props: Record<string, string>;
  try {
    props = readOnnxMetadataProps(bytes);
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`, { cause: err });
  }
  return parseModelMetadata(props[METADATA_KEY], source);
}
