import { useState } from 'react';

/**
 * A stack of the API's cursors: the pages before this one, so going back needs no cursor the API does not
 * give (its pages only go forward). `reset` goes back to the first page (a new filter, a new rating).
 */
export function usePages() {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  return {
    cursor: cursors[cursors.length - 1],
    first: cursors.length <= 1,
    back: () => setCursors((c) => c.slice(0, -1)),
    next: (cursor: string | undefined) => setCursors((c) => [...c, cursor]),
    reset: () => setCursors([undefined]),
  };
}

export type Pages = ReturnType<typeof usePages>;

/** Newer and Older, for lists newest first; nothing when everything fits on the first page. */
export function Pager({ pages, next }: { pages: Pages; next: string | undefined }) {
  if (pages.first && next === undefined) return null;
  return (
    <div className="pager">
      <button type="button" disabled={pages.first} onClick={pages.back}>
        ← Newer
      </button>
      <button type="button" disabled={next === undefined} onClick={() => pages.next(next)}>
        Older →
      </button>
    </div>
  );
}
