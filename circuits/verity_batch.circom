pragma circom 2.1.0;

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/eddsaposeidon.circom";
include "registry_membership.circom";

// One batch of up to B consecutive steps of an execution, in the workflow's order.
//
// Public: the commitment chain (cPrev → cNext) and step-id chain (sPrev → sNext) across the batch, the
// execution id, the workflow digest, the registry root, the result digest, and two flags: `first`
// (the batch starts the chain, so cPrev must be the execution's salted start value) and `final` (the
// batch ends it, so its last step's output must be the result). Every 256-bit digest is two 128-bit
// field elements, hi and lo. src/zk/ computes the same values outside the circuit; docs/receipts.md
// states what a proof means.
//
// Private: the salt, and per slot the step id, output digest, the worker's Baby Jubjub key, its
// EdDSA-Poseidon signature over the step leaf, and the key's registry path. Slots past the last step
// of the final batch are inactive: they carry a throwaway signature and change nothing.
template VerityBatch(B, depth) {
    signal input first;
    signal input final;
    signal input cPrev;
    signal input cNext;
    signal input sPrev;
    signal input sNext;
    signal input execHi;
    signal input execLo;
    signal input wfHi;
    signal input wfLo;
    signal input registryRoot;
    signal input resultHi;
    signal input resultLo;

    signal input salt;
    signal input active[B];
    signal input stepHi[B];
    signal input stepLo[B];
    signal input outHi[B];
    signal input outLo[B];
    signal input Ax[B];
    signal input Ay[B];
    signal input S[B];
    signal input R8x[B];
    signal input R8y[B];
    signal input siblings[B][depth];
    signal input pathBits[B][depth];

    first * (1 - first) === 0;
    final * (1 - final) === 0;

    // Active slots come first and there is at least one: no step can be left out of the middle.
    active[0] === 1;
    for (var i = 0; i < B; i++) {
        active[i] * (1 - active[i]) === 0;
        if (i > 0) {
            active[i] * (1 - active[i - 1]) === 0;
        }
    }

    // The execution context every leaf is bound to (tag 1 = "verity/zk/context/v1").
    component context = Poseidon(5);
    context.inputs[0] <== 1;
    context.inputs[1] <== execHi;
    context.inputs[2] <== execLo;
    context.inputs[3] <== wfHi;
    context.inputs[4] <== wfLo;

    // The chain's start is hidden behind the salt, so commitments reveal nothing about outputs.
    component start = Poseidon(3);
    start.inputs[0] <== 2;
    start.inputs[1] <== context.out;
    start.inputs[2] <== salt;
    first * (cPrev - start.out) === 0;

    signal c[B + 1];
    signal s[B + 1];
    signal lastHi[B + 1];
    signal lastLo[B + 1];
    c[0] <== cPrev;
    s[0] <== sPrev;
    lastHi[0] <== 0;
    lastLo[0] <== 0;

    component leaf[B];
    component verifier[B];
    component keyLeaf[B];
    component membership[B];
    component chainC[B];
    component chainS[B];
    for (var i = 0; i < B; i++) {
        // The step leaf the worker signed: this execution, this step, this output.
        leaf[i] = Poseidon(5);
        leaf[i].inputs[0] <== context.out;
        leaf[i].inputs[1] <== stepHi[i];
        leaf[i].inputs[2] <== stepLo[i];
        leaf[i].inputs[3] <== outHi[i];
        leaf[i].inputs[4] <== outLo[i];

        verifier[i] = EdDSAPoseidonVerifier();
        verifier[i].enabled <== active[i];
        verifier[i].Ax <== Ax[i];
        verifier[i].Ay <== Ay[i];
        verifier[i].S <== S[i];
        verifier[i].R8x <== R8x[i];
        verifier[i].R8y <== R8y[i];
        verifier[i].M <== leaf[i].out;

        keyLeaf[i] = Poseidon(2);
        keyLeaf[i].inputs[0] <== Ax[i];
        keyLeaf[i].inputs[1] <== Ay[i];
        membership[i] = RegistryMembership(depth);
        membership[i].leaf <== keyLeaf[i].out;
        for (var j = 0; j < depth; j++) {
            membership[i].siblings[j] <== siblings[i][j];
            membership[i].pathBits[j] <== pathBits[i][j];
        }
        active[i] * (membership[i].root - registryRoot) === 0;

        chainC[i] = Poseidon(2);
        chainC[i].inputs[0] <== c[i];
        chainC[i].inputs[1] <== leaf[i].out;
        c[i + 1] <== c[i] + active[i] * (chainC[i].out - c[i]);

        chainS[i] = Poseidon(3);
        chainS[i].inputs[0] <== s[i];
        chainS[i].inputs[1] <== stepHi[i];
        chainS[i].inputs[2] <== stepLo[i];
        s[i + 1] <== s[i] + active[i] * (chainS[i].out - s[i]);

        lastHi[i + 1] <== lastHi[i] + active[i] * (outHi[i] - lastHi[i]);
        lastLo[i + 1] <== lastLo[i] + active[i] * (outLo[i] - lastLo[i]);
    }

    cNext === c[B];
    sNext === s[B];
    final * (lastHi[B] - resultHi) === 0;
    final * (lastLo[B] - resultLo) === 0;
}
