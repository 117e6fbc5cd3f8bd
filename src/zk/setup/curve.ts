/**
 * snarkjs gets its bn128 curve from ffjavascript, which builds it once per process, keeps it on
 * `globalThis.curve_bn128`, and starts one worker thread per core for it. Nothing in snarkjs ever stops
 * them, and running workers keep Node alive: a command that used snarkjs calls this when it is done, or the
 * process never exits. Call it only when nothing else in the process is proving or verifying: the next
 * snarkjs call builds a fresh curve, but one already holding the old curve would fail.
 */
export async function releaseCurveWorkers(): Promise<void> {
  const holder = globalThis as { curve_bn128?: { terminate(): Promise<void> } | null };
  await holder.curve_bn128?.terminate();
}
