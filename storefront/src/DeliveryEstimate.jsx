import { useId, useState } from 'react';
import { storefrontUrl } from './api.js';
import { formatDay, text } from './messages.js';
import { DestinationForm } from './DestinationForm.jsx';
import { Failure, Loading } from './Status.jsx';
import { useJson } from './useJson.js';

// When the quantity would arrive at a postcode: GET /storefront/delivery-estimate.
export function DeliveryEstimate({
  api, sku, quantity, parent = false, postcode: initialPostcode = '', country: initialCountry = '',
}) {
  const id = useId();
  const [postcode, setPostcode] = useState(initialPostcode);
  const [country, setCountry] = useState(initialCountry);
  const [search, setSearch] = useState(
    initialPostcode && initialCountry ? { postcode: initialPostcode, country: initialCountry, qty: quantity() } : null,
  );
  const [estimate, retry] = useJson(
    sku && search && !parent ? storefrontUrl(api, 'delivery-estimate', { sku, ...search }) : null,
  );

  const submit = (event) => {
    event.preventDefault();
    setSearch({ postcode: postcode.trim(), country: country.trim(), qty: quantity() });
  };
  return (
    <section className="omsb omsb-delivery" aria-labelledby={`${id}-heading`} aria-busy={estimate.status === 'loading'}>
      <h3 id={`${id}-heading`} className="omsb-heading">{text.deliveryHeading}</h3>
      {parent && <p className="omsb-status">{text.chooseForDelivery}</p>}
      <DestinationForm id={id} postcode={postcode} country={country} onPostcode={setPostcode}
                       onCountry={setCountry} onSubmit={submit} submitLabel={text.checkDelivery} disabled={parent} />
      {estimate.status === 'loading' && <Loading>{text.deliveryLoading}</Loading>}
      {estimate.status === 'error' && <Failure message={estimate.message} onRetry={retry} />}
      {estimate.status === 'ok' && (
        <p className="omsb-result" role="status">
          {estimate.data.available && estimate.data.date && (
            <>
              {text.arrivesBy} <time dateTime={estimate.data.date}>{formatDay(estimate.data.date)}</time>
            </>
          )}
          {estimate.data.available && !estimate.data.date && text.deliverable}
          {!estimate.data.available && text.notDeliverable(estimate.data.available_qty)}
        </p>
      )}
    </section>
  );
}
