import { createContext, useContext } from 'react';
import type { VerityClient } from 'verity/sdk';
import type { Session } from './session';

export interface AppContext {
  session: Session;
  client: VerityClient;
  /** Ends the session and returns to sign-in, with a message saying why. */
  signOut: (message?: string) => void;
}

export const App = createContext<AppContext | undefined>(undefined);

export function useApp(): AppContext {
  const app = useContext(App);
  if (!app) throw new Error('useApp outside the signed-in app');
  return app;
}
