// Block (de)quantization of the ggml types the default base model uses, and conversions between
// them; each format in its own file, following ggml-quants.c.

export {
    canDequantize,
    convertTensorData,
    dequantize,
    isExactConversion,
    QUANTIZERS,
    type QuantTarget,
    quantize,
} from "./convert";
