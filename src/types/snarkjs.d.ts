/**
 * The part of snarkjs 0.7 that Verity calls. snarkjs ships no types; these are written from its sources
 * (node_modules/snarkjs/src). Keep them to what is used: every function here is real and checked by use.
 *
 * Many setup functions report a failure by logging an error and returning `false` or `-1` instead of
 * throwing; the return types say so, and callers must check.
 */
declare module 'snarkjs' {
  /** snarkjs calls these with one preformatted string; `log` is used by `powersOfTau.newAccumulator` from 2^17 up. */
  export interface Logger {
    debug(message: string): void;
    info(message: string): void;
    warn(message: string): void;
    error(message: string): void;
    log?(message: string): void;
  }

  /** An ffjavascript curve: its worker threads keep a process alive until `terminate()`. */
  export interface Curve {
    readonly name: string;
    terminate(): Promise<void>;
  }

  /** A blake2b-512 digest as snarkjs returns it (it prints the same bytes as 4 rows of 4 hex words). */
  export type Blake2bHash = Uint8Array;

  export interface R1csInfo {
    nVars: number;
    nOutputs: number;
    nPubInputs: number;
    nPrvInputs: number;
    nLabels: number;
    nConstraints: number;
    prime: bigint;
  }

  /** Field elements and coordinates are decimal strings. */
  export interface Groth16VerificationKey {
    protocol: 'groth16';
    curve: string;
    nPublic: number;
    vk_alpha_1: string[];
    vk_beta_2: string[][];
    vk_gamma_2: string[][];
    vk_delta_2: string[][];
    vk_alphabeta_12: string[][][];
    IC: string[][];
  }

  export interface Groth16Proof {
    pi_a: string[];
    pi_b: string[][];
    pi_c: string[];
    protocol: 'groth16';
    curve: string;
  }

  /** The public signals as decimal strings, in the circuit's public-input order. */
  export type PublicSignals = string[];

  /** A circuit input: each signal a number, a bigint or a decimal/hex string, or (nested) arrays of them. */
  export type SignalValue = bigint | number | string | SignalValue[];
  export type CircuitSignals = Record<string, SignalValue>;

  export interface WitnessCalculatorOptions {
    memorySize?: number;
    sanityCheck?: boolean;
    logGetSignal?: (signal: number, value: bigint) => void;
    logSetSignal?: (signal: number, value: bigint) => void;
    logStartComponent?: (componentId: number) => void;
    logFinishComponent?: (componentId: number) => void;
  }

  /** The Solidity templates, as the snarkjs CLI reads them from node_modules/snarkjs/templates/*.sol.ejs. */
  export interface SolidityTemplates {
    groth16?: string;
    plonk?: string;
    fflonk?: string;
  }

  export const curves: {
    getCurveFromName(name: string, options?: { singleThread?: boolean }): Promise<Curve>;
  };

  export const r1cs: {
    info(r1csFileName: string, logger?: Logger): Promise<R1csInfo>;
  };

  export const powersOfTau: {
    /** Returns the first challenge hash. */
    newAccumulator(curve: Curve, power: number, fileName: string, logger?: Logger): Promise<Blake2bHash>;
    /** Returns the contribution's response hash. `entropy` must not be empty: snarkjs would prompt for it on the terminal. */
    contribute(oldPtau: string, newPtau: string, name: string, entropy: string, logger?: Logger): Promise<Blake2bHash>;
    /** `numIterationsExp` from 10 to 63: the beacon is hashed 2^numIterationsExp times. */
    beacon(
      oldPtau: string,
      newPtau: string,
      name: string,
      beaconHashHex: string,
      numIterationsExp: number,
      logger?: Logger,
    ): Promise<Blake2bHash | false>;
    preparePhase2(oldPtau: string, newPtau: string, logger?: Logger): Promise<void>;
    verify(ptau: string, logger?: Logger): Promise<boolean>;
  };

  export const zKey: {
    /** Returns the circuit hash, or -1 (after logging why) when the ptau is too small, unprepared or for another curve. */
    newZKey(
      r1csFileName: string,
      ptauFileName: string,
      zkeyFileName: string,
      logger?: Logger,
    ): Promise<Blake2bHash | -1>;
    /** Returns the contribution hash. `entropy` must not be empty (see powersOfTau.contribute). */
    contribute(oldZkey: string, newZkey: string, name: string, entropy: string, logger?: Logger): Promise<Blake2bHash>;
    beacon(
      oldZkey: string,
      newZkey: string,
      name: string,
      beaconHashHex: string,
      numIterationsExp: number,
      logger?: Logger,
    ): Promise<Blake2bHash | false>;
    exportVerificationKey(zkeyFileName: string, logger?: Logger): Promise<Groth16VerificationKey>;
    verifyFromR1cs(r1csFileName: string, ptauFileName: string, zkeyFileName: string, logger?: Logger): Promise<boolean>;
    exportSolidityVerifier(zkeyFileName: string, templates: SolidityTemplates, logger?: Logger): Promise<string>;
  };

  export const groth16: {
    fullProve(
      input: CircuitSignals,
      wasmFile: string | Uint8Array,
      zkeyFile: string | Uint8Array,
      logger?: Logger,
      witnessCalculatorOptions?: WitnessCalculatorOptions,
    ): Promise<{ proof: Groth16Proof; publicSignals: PublicSignals }>;
    verify(
      verificationKey: Groth16VerificationKey,
      publicSignals: PublicSignals,
      proof: Groth16Proof,
      logger?: Logger,
    ): Promise<boolean>;
  };

  export const wtns: {
    /** Computes a witness; throws ("Assert Failed …") when the input violates a constraint. */
    calculate(
      input: CircuitSignals,
      wasmFile: string | Uint8Array,
      witness: { type: 'mem' } | string,
      options?: WitnessCalculatorOptions,
    ): Promise<void>;
  };
}
