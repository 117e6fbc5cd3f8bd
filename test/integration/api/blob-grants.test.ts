import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobRef } from '../../../src/blobs/blob-ref.js';
import { VerityApiError } from '../../../src/sdk/client.js';
import { call } from '../../support/api-http.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { HttpWorker } from '../../support/http-worker.js';
import { echo, transform } from '../../support/node.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';

/**
 * A step's output grants the execution's owner every blob it names, so it may name only blobs the owner can
 * read already or blobs the job uploaded itself. Before, a publisher read any client's upload byte for byte
 * by writing its digest into an expression's output, and the size-mismatch error told the stored size.
 */

/** A workflow whose one JSONata step writes `ref` into its output as a blob reference. */
const naming = (id: string, ref: BlobRef) => ({
  id,
  name: id,
  version: 1,
  steps: [
    transform('grab', `{ "image": ${JSON.stringify(ref)} }`, {
      retry_policy: { max_attempts: 3, initial_backoff_ms: 10 },
    }),
  ],
  outputs: { image: 'steps.grab.output.image' },
});

type Client = ReturnType<TestServer['client']>;

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`which blobs a step's output may name (${kind})`, () => {
    let server: TestServer;
    let alice: Client;
    let bob: Client;
    let publisher: Client;
    let bobsImage: BlobRef;
    let counter = 0;

    /** Publishes a workflow naming `ref` and has Alice run it to its end. */
    const aliceRuns = async (ref: BlobRef) => {
      const id = `grab-${++counter}`;
      await publisher.publishWorkflow(naming(id, ref));
      const started = await alice.execute(id, { inputs: {} });
      return alice.waitFor(started.executionId);
    };

    beforeAll(async () => {
      server = await startTestServer(kind, 'blob-grants', { node: { workers: 2 }, server: { closeGraceMs: 200 } });
      alice = server.client(await server.key('alice', 'client'));
      bob = server.client(await server.key('bob', 'client'));
      publisher = server.client(await server.key('alice', 'publisher'));
      bobsImage = await bob.uploadBlob(
        Buffer.from('89504e470d0a1a0a' + 'bob-private-scan'.repeat(8), 'utf8'),
        'image/png',
      );
    });
    afterAll(() => server?.close());

    it("fails the step (blob_not_granted) when an expression writes another client's digest into its output, and Alice still cannot read it", async () => {
      const done = await aliceRuns(bobsImage);
      expect(done.status).toBe('failed');
      expect(done.error).toMatchObject({ code: 'blob_not_granted' });
      // Not retried: the same expression would name it again.
      expect(done.steps[0]).toMatchObject({ attempts: 1 });
      const read = await alice.downloadBlob(bobsImage).catch((e: unknown) => e);
      expect(read).toBeInstanceOf(VerityApiError);
      expect((read as VerityApiError).status).toBe(404);
      expect(JSON.stringify(done)).not.toContain('bob-private-scan');
    });

    it('answers the same whether the named blob exists or not, and never tells its size', async () => {
      const missing: BlobRef = { $blob: `sha256:${'7'.repeat(64)}`, size: bobsImage.size, mediaType: 'image/png' };
      const wrongSize: BlobRef = { ...bobsImage, size: 3 };
      const outcomes = [await aliceRuns(bobsImage), await aliceRuns(missing), await aliceRuns(wrongSize)];
      const messages = outcomes.map((done, i) => {
        expect(done.error, JSON.stringify(done)).toMatchObject({ code: 'blob_not_granted' });
        const named = [bobsImage, missing, wrongSize][i]!.$blob;
        return done.error!.message.replace(named, '<digest>');
      });
      expect(new Set(messages).size).toBe(1);
      expect(messages[0]).not.toContain(String(bobsImage.size));
    });

    it('lets an output name a blob its owner can read already', async () => {
      const mine = await alice.uploadBlob(Buffer.from('alice own bytes'), 'text/plain');
      const done = await aliceRuns(mine);
      expect(done.status, JSON.stringify(done)).toBe('completed');
      expect(done.result).toEqual({ image: mine });
      // Bob did not get it by running nothing.
      await expect(bob.downloadBlob(mine)).rejects.toMatchObject({ status: 404 });
    });

    it('does not tell the owner the stored size of its own blob named with a wrong size', async () => {
      const mine = await alice.uploadBlob(Buffer.from('twenty-three bytes here'), 'text/plain');
      const done = await aliceRuns({ ...mine, size: 5 });
      expect(done.error).toMatchObject({ code: 'invalid_output' });
      expect(done.error!.message).not.toContain(String(mine.size));
    });

    describe('a remote worker', () => {
      let worker: HttpWorker;
      let stranger: HttpWorker;
      let echoId: string;
      beforeAll(async () => {
        // A server of its own without in-process workers: every job below goes to the hand-driven worker.
        await server.close();
        server = await startTestServer(kind, 'blob-grants-remote', {
          node: { workers: 0 },
          server: { closeGraceMs: 200 },
        });
        alice = server.client(await server.key('alice', 'client'));
        bob = server.client(await server.key('bob', 'client'));
        publisher = server.client(await server.key('alice', 'publisher'));
        bobsImage = await bob.uploadBlob(Buffer.from('bob-private-scan'), 'image/png');
        worker = await new HttpWorker(server.url, await server.key('gpu', 'worker')).register();
        stranger = await new HttpWorker(server.url, await server.key('stranger', 'worker')).register();
        echoId = `echo-${++counter}`;
        await publisher.publishWorkflow({
          id: echoId,
          name: echoId,
          version: 1,
          steps: [echo('a', { retry_policy: { max_attempts: 1 } })],
          outputs: { out: 'steps.a.output' },
        });
      });

      const upload = (as: HttpWorker, jobId: string | undefined, bytes: string) =>
        call(
          server.url,
          'POST',
          `/v1/worker/blobs?workerId=${as.id}${jobId === undefined ? '' : `&jobId=${encodeURIComponent(jobId)}`}`,
          {
            key: as.apiKey,
            body: Buffer.from(bytes),
            headers: { 'content-type': 'text/plain' },
          },
        );

      const heldJob = async () => {
        const started = await alice.execute(echoId, { inputs: {} });
        const job = await worker.claimJob(started.executionId);
        expect((await worker.start(job)).status).toBe(204);
        return { executionId: started.executionId, job };
      };

      it("has its upload for a job it holds readable by the execution's owner once the output names it", async () => {
        const { executionId, job } = await heldJob();
        const uploaded = await upload(worker, job.jobId, 'made by the step');
        expect(uploaded.status, uploaded.text).toBe(201);
        const ref = uploaded.json as BlobRef;
        // Uploaded, not yet named by an accepted output: the owner cannot read it yet.
        await expect(alice.downloadBlob(ref)).rejects.toMatchObject({ status: 404 });
        const output = { made: ref };
        const reported = await worker.complete(job, { output, attestation: worker.attest(job, output) });
        expect(reported.status, reported.text).toBe(200);
        const done = await alice.waitFor(executionId);
        expect(done.status).toBe('completed');
        expect(Buffer.from((await alice.downloadBlob(ref)).bytes).toString()).toBe('made by the step');
        await expect(bob.downloadBlob(ref)).rejects.toMatchObject({ status: 404 });
      });

      it("must name the job it uploads for, one it holds: another worker's job and no job read alike (404)", async () => {
        const { job } = await heldJob();
        const noJobId = await upload(worker, undefined, 'x');
        expect(noJobId.status).toBe(400);
        expect(noJobId.text).toContain('jobId');
        const theirs = await upload(stranger, job.jobId, 'x');
        const none = await upload(stranger, '01900000-0000-7000-8000-000000000000', 'x');
        expect(theirs.status).toBe(404);
        expect(none.status).toBe(404);
        expect((theirs.json as { error: { message: string } }).error.message.replace(job.jobId, '<id>')).toBe(
          (none.json as { error: { message: string } }).error.message.replace(
            '01900000-0000-7000-8000-000000000000',
            '<id>',
          ),
        );
        expect((await worker.complete(job)).status).toBe(200);
      });

      it("fails its job (blob_not_granted) when its output names another client's blob", async () => {
        const { executionId, job } = await heldJob();
        const output = { stolen: bobsImage };
        const reported = await worker.complete(job, { output, attestation: worker.attest(job, output) });
        expect(reported.status).toBe(200);
        const done = await alice.waitFor(executionId);
        expect(done.status).toBe('failed');
        expect(done.error).toMatchObject({ code: 'blob_not_granted' });
        await expect(alice.downloadBlob(bobsImage)).rejects.toMatchObject({ status: 404 });
      });

      it('cannot hand on, through a result kept as a blob, a blob it did not upload for the job', async () => {
        const { executionId, job } = await heldJob();
        const reported = await worker.post(`/worker/jobs/${job.jobId}/complete`, {
          ...worker.report(job),
          outputBlob: bobsImage,
          attestation: worker.attest(job, null),
        });
        expect([200, 400]).toContain(reported.status);
        const done = await alice.waitFor(executionId);
        expect(done.status).toBe('failed');
        expect(done.error).toMatchObject({ code: 'blob_not_granted' });
        expect(JSON.stringify(done)).not.toContain('bob-private-scan');
      });
    });
  });
}
