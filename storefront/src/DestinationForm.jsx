import { text } from './messages.js';

// The postcode + country form both the pickup and the delivery components ask with.
export function DestinationForm({ id, postcode, country, onPostcode, onCountry, onSubmit, submitLabel, disabled = false }) {
  return (
    <form className="omsb-form" onSubmit={onSubmit}>
      <label htmlFor={`${id}-postcode`}>{text.postcode}</label>
      <input id={`${id}-postcode`} name="postcode" autoComplete="postal-code" required maxLength={12}
             value={postcode} onChange={(event) => onPostcode(event.target.value)} />
      <label htmlFor={`${id}-country`}>{text.country}</label>
      <input id={`${id}-country`} name="country" autoComplete="country" required minLength={2} maxLength={2}
             size={3} value={country} onChange={(event) => onCountry(event.target.value)} />
      <button type="submit" className="omsb-button" disabled={disabled}>{submitLabel}</button>
    </form>
  );
}
