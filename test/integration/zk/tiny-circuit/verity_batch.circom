pragma circom 2.1.0;

// A stand-in for circuits/verity_batch.circom with the same template name and public inputs, for the
// tests of the ceremony's mechanics (resume, contribute, imported phase 1): about 300 constraints, so a
// domain of 2^9 and a whole ceremony in seconds, where the real test circuit needs 2^13 and minutes.
// It proves nothing about a batch: the real circuit's own ceremony is tested in setup.test.ts.
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

    first * (1 - first) === 0;
    final * (1 - final) === 0;

    // 300 multiplications: more than 2^8 constraints with the public inputs, fewer than 2^9.
    signal chain[300];
    chain[0] <== salt * (B + depth);
    for (var i = 1; i < 300; i++) {
        chain[i] <== chain[i - 1] * chain[i - 1];
    }
    signal last <== chain[299] * first;
}
