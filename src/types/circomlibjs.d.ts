// The parts of circomlibjs 0.1.7 Verity uses; the package ships no types. Field elements are the
// library's internal representation (Uint8Array); F converts them to and from bigint.
declare module 'circomlibjs' {
  export type FieldElement = Uint8Array;
  export interface Field {
    e(value: bigint | number | string): FieldElement;
    toObject(element: FieldElement): bigint;
    eq(a: FieldElement, b: FieldElement): boolean;
  }
  export interface Poseidon {
    (inputs: readonly (bigint | FieldElement)[]): FieldElement;
    F: Field;
  }
  export type Point = [FieldElement, FieldElement];
  export interface EddsaSignature {
    R8: Point;
    S: bigint;
  }
  export interface Eddsa {
    F: Field;
    prv2pub(privateKey: Uint8Array): Point;
    signPoseidon(privateKey: Uint8Array, message: FieldElement): EddsaSignature;
    verifyPoseidon(message: FieldElement, signature: EddsaSignature, publicKey: Point): boolean;
    babyJub: { inCurve(point: Point): boolean; inSubgroup(point: Point): boolean; subOrder: bigint };
  }
  export function buildPoseidon(): Promise<Poseidon>;
  export function buildEddsa(): Promise<Eddsa>;
}
