import { useCallback, useEffect, useState } from 'react';
import { getJson } from './api.js';

// Loads `url` (nothing while it is null); a newer url aborts the older request. Returns the state
// ({status: idle | loading | ok | error, data, message}) and a retry function.
export function useJson(url) {
  const [state, setState] = useState({ status: url ? 'loading' : 'idle' });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (!url) {
      setState({ status: 'idle' });
      return undefined;
    }
    const controller = new AbortController();
    setState({ status: 'loading' });
    getJson(url, controller.signal).then(setState, (error) => {
      if (error.name !== 'AbortError') setState({ status: 'error', message: String(error) });
    });
    return () => controller.abort();
  }, [url, attempt]);
  const retry = useCallback(() => setAttempt((n) => n + 1), []);
  return [state, retry];
}
