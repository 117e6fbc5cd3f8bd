import type { LedgerBalanceView, LedgerTransactionPage, SettlementPage } from 'verity/sdk';
import { Pager, usePages } from '../../components/Pager';
import { Loaded, StatusBadge, Time } from '../../components';
import { useApp } from '../../lib/app-context';
import { netByBucket } from '../../lib/market';
import { credits, signedCredits } from '../../lib/money';
import { href } from '../../lib/router';
import { useLoad } from '../../lib/use-load';
import './market.css';

const PAGE = 20;

/** The caller's account: its balance, its ledger transactions and the settlements that moved its money. */
export function Account() {
  const { session } = useApp();
  return (
    <section className="market account">
      <div className="page-head">
        <h1>Account</h1>
        <span className="muted">{session.principal}</span>
      </div>
      <Balance />
      <Transactions />
      <Settlements />
    </section>
  );
}

function Balance() {
  const { client } = useApp();
  const [load, retry] = useLoad<LedgerBalanceView>(() => client.balance(), [client]);
  return (
    <div className="card balance">
      <h2>Balance</h2>
      <Loaded load={load} retry={retry}>
        {(balance) => (
          <div className="balance-figures">
            <div>
              <span className="muted small">Available</span>
              <strong className="amount" data-bucket="available">
                {credits(balance.available)}
              </strong>
            </div>
            <div>
              <span className="muted small">Held for runs not settled yet</span>
              <strong className="amount" data-bucket="held">
                {credits(balance.held)}
              </strong>
            </div>
            <button type="button" onClick={retry}>
              Refresh
            </button>
          </div>
        )}
      </Loaded>
      <p className="muted small">Credits; 1 credit = 1,000,000 micro-units. An admin credits accounts.</p>
    </div>
  );
}

function Transactions() {
  const { client, session } = useApp();
  const pages = usePages();
  const [load, retry] = useLoad<LedgerTransactionPage>(
    () => client.ledgerTransactions({ limit: PAGE, ...(pages.cursor !== undefined && { cursor: pages.cursor }) }),
    [client, pages.cursor],
  );
  return (
    <div className="transactions">
      <h2>Transactions</h2>
      <Loaded
        load={load}
        retry={retry}
        isEmpty={(page) => page.transactions.length === 0 && pages.first}
        empty={<p>No money has moved in this account yet.</p>}
      >
        {(page) => (
          <>
            <div className="table-wrap">
              <table className="list stack-on-phone">
                <thead>
                  <tr>
                    <th>When</th>
                    <th>Kind</th>
                    <th>Available</th>
                    <th>Held</th>
                    <th>Postings</th>
                    <th>For</th>
                  </tr>
                </thead>
                <tbody>
                  {page.transactions.map((t) => {
                    // An admin sees every side of a transaction: the columns are this account's own.
                    const net = netByBucket(t.postings.filter((p) => p.account === session.principal));
                    return (
                      <tr key={t.id} data-transaction={t.id} data-kind={t.kind}>
                        <td>
                          <Time at={t.created_at} />
                        </td>
                        <td data-label="Kind">{t.kind}</td>
                        <td className={`num ${sign(net.available)}`} data-label="Available">
                          {signedOrDash(net.available)}
                        </td>
                        <td className={`num ${sign(net.held)}`} data-label="Held">
                          {signedOrDash(net.held)}
                        </td>
                        <td className="postings small" data-label="Postings">
                          {t.postings.map((p, i) => (
                            <div key={i}>
                              <span className={`num ${sign(p.amount)}`}>{signedCredits(p.amount)}</span>{' '}
                              <span className="muted">
                                {p.bucket} · {p.reason}
                                {p.account !== session.principal && ` · ${p.account}`}
                              </span>
                            </div>
                          ))}
                        </td>
                        <td className="small" data-label="For">
                          {t.execution_id && (
                            <a className="mono" href={href({ page: 'execution', id: t.execution_id })}>
                              {t.execution_id.slice(0, 8)}
                            </a>
                          )}
                          {t.execution_id && t.listing_id && ' · '}
                          {t.listing_id && <a href={href({ page: 'listing', id: t.listing_id })}>listing</a>}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
            <Pager pages={pages} next={page.next_cursor} />
          </>
        )}
      </Loaded>
    </div>
  );
}

function Settlements() {
  const { client } = useApp();
  const pages = usePages();
  const [load, retry] = useLoad<SettlementPage>(
    () => client.ledgerSettlements({ limit: PAGE, ...(pages.cursor !== undefined && { cursor: pages.cursor }) }),
    [client, pages.cursor],
  );
  return (
    <div className="settlements">
      <h2>Settlements</h2>
      <p className="muted small">
        The signed statements that settled runs through the marketplace and posted to this account; the buyer checks one
        offline with the execution's receipt bundle.
      </p>
      <Loaded
        load={load}
        retry={retry}
        isEmpty={(page) => page.settlements.length === 0 && pages.first}
        empty={<p>No settled marketplace run has touched this account yet.</p>}
      >
        {(page) => {
          // A buyer's and a worker's view has no price, compute or fee (the publisher's and an admin's has).
          const amounts = page.settlements.some((s) => s.price !== undefined);
          return (
            <>
              <div className="table-wrap">
                <table className="list stack-on-phone">
                  <thead>
                    <tr>
                      <th>Settled</th>
                      <th>Execution</th>
                      <th>Outcome</th>
                      {amounts && (
                        <>
                          <th>Price</th>
                          <th>Compute</th>
                          <th>Fee</th>
                        </>
                      )}
                      <th>Your postings</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.settlements.map((s) => (
                      <tr key={`${s.execution_id}|${s.revision}`} data-execution={s.execution_id}>
                        <td>
                          <Time at={s.settled_at} />
                        </td>
                        <td data-label="Execution">
                          <a className="mono" href={href({ page: 'execution', id: s.execution_id })}>
                            {s.execution_id.slice(0, 8)}
                          </a>
                          {s.revision > 1 && <span className="muted"> rev {s.revision}</span>}{' '}
                          <a className="small" href={href({ page: 'listing', id: s.listing_id })}>
                            listing
                          </a>
                        </td>
                        <td data-label="Outcome">
                          <StatusBadge status={s.outcome} />
                        </td>
                        {amounts && (
                          <>
                            <td className="num" data-label="Price">
                              {s.price === undefined ? '—' : credits(s.price)}
                            </td>
                            <td className="num" data-label="Compute">
                              {s.compute_cost === undefined ? '—' : credits(s.compute_cost)}
                            </td>
                            <td className="num" data-label="Fee">
                              {s.fee === undefined ? '—' : credits(s.fee)}
                            </td>
                          </>
                        )}
                        <td className="postings small" data-label="Yours">
                          {s.postings.map((p, i) => (
                            <div key={i}>
                              <span className={`num ${sign(p.amount)}`}>{signedCredits(p.amount)}</span>{' '}
                              <span className="muted">{p.why}</span>
                            </div>
                          ))}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <Pager pages={pages} next={page.next_cursor} />
            </>
          );
        }}
      </Loaded>
    </div>
  );
}

function sign(amount: number): string {
  return amount > 0 ? 'amount-in' : amount < 0 ? 'amount-out' : '';
}

function signedOrDash(amount: number): string {
  return amount === 0 ? '—' : signedCredits(amount);
}
