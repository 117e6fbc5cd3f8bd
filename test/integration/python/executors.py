"""Executors the Python worker integration test serves."""

import time

from verity_worker import ExecutorError, executor


@executor(name='test/py-words', version='1', step_types=['inference', 'data_processing'])
def words(input, ctx):
    text = input['text']
    counted = text.split()
    ctx.report_cost(7, usage={'words': len(counted), 'ratio': 0.5})
    return {'words': len(counted), 'upper': text.upper(), 'by': 'python', 'pi': 3.141592653589793, 'tiny': 1e-7}


@executor(name='test/py-sleep', version='2', step_types=['inference'])
def nap(input, ctx):
    # The first attempt sleeps long enough to be killed in its sleep; the attempt after it is quick.
    seconds = input['seconds'] if ctx.attempt == 1 else 0
    ctx.cancelled.wait(seconds)
    return {'slept': seconds}


@executor(name='test/py-big', version='1', step_types=['inference'])
def big(input, ctx):
    # Larger than 256 KiB of canonical JSON: it goes to the server as an output blob.
    stored = ctx.blobs.put(input['text'].encode('utf-8'), 'text/plain')
    return {'blob': stored, 'filler': 'x' * (300 * 1024)}


@executor(name='test/py-read', version='1', step_types=['inference'])
def read(input, ctx):
    # A blob the job's input names: fetched through the job, its digest checked.
    return {'text': ctx.blobs.get(input['ref']).decode('utf-8')}


@executor(name='test/py-refuse', version='1', step_types=['inference'])
def refuse(input, ctx):
    raise ExecutorError('bad_input', 'no thanks', retryable=False)
