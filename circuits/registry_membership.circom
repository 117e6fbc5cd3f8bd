pragma circom 2.1.0;

include "circomlib/circuits/poseidon.circom";

// Membership of a leaf in the coordinator's worker registry: a binary Poseidon Merkle tree of `depth`
// levels. pathBits[i] = 1 when the running node is the right child at level i. Outputs the root the
// path leads to; the caller decides whether it must equal the public root (only for active slots).
template RegistryMembership(depth) {
    signal input leaf;
    signal input siblings[depth];
    signal input pathBits[depth];
    signal output root;

    signal node[depth + 1];
    signal left[depth];
    signal right[depth];
    component hash[depth];
    node[0] <== leaf;
    for (var i = 0; i < depth; i++) {
        pathBits[i] * (1 - pathBits[i]) === 0;
        left[i] <== node[i] + pathBits[i] * (siblings[i] - node[i]);
        right[i] <== siblings[i] + node[i] - left[i];
        hash[i] = Poseidon(2);
        hash[i].inputs[0] <== left[i];
        hash[i].inputs[1] <== right[i];
        node[i + 1] <== hash[i].out;
    }
    root <== node[depth];
}
