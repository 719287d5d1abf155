import { text } from './messages.js';

// Loading and error states shared by the three components: announced to screen readers.
export function Loading({ children }) {
  return (
    <p className="omsb-status omsb-loading" role="status" aria-live="polite">
      <span className="omsb-spinner" aria-hidden="true" />
      {children}
    </p>
  );
}

export function Failure({ message, onRetry }) {
  return (
    <div className="omsb-status omsb-error" role="alert">
      <span>{message}</span>
      {onRetry && (
        <button type="button" className="omsb-button omsb-button--link" onClick={onRetry}>
          {text.tryAgain}
        </button>
      )}
    </div>
  );
}
