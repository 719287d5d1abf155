import { useId, useState } from 'react';
import { storefrontUrl } from './api.js';
import { addressLine, formatDay, text } from './messages.js';
import { DestinationForm } from './DestinationForm.jsx';
import { Failure, Loading } from './Status.jsx';
import { useJson } from './useJson.js';

// Pickup stores near a postcode with availability for the quantity (GET /storefront/pickup-locations);
// choosing one shows when it can be picked up (GET /storefront/delivery-estimate?store=) and tells
// the page through a bubbling "omsbridge:store-selected" event.
export function PickupLocations({
  api, sku, quantity, host, parent = false, postcode: initialPostcode = '', country: initialCountry = '',
}) {
  const id = useId();
  const [postcode, setPostcode] = useState(initialPostcode);
  const [country, setCountry] = useState(initialCountry);
  const [search, setSearch] = useState(
    initialPostcode && initialCountry ? { postcode: initialPostcode, country: initialCountry, qty: quantity() } : null,
  );
  const [selected, setSelected] = useState(null);
  const [stores, retryStores] = useJson(
    sku && search && !parent ? storefrontUrl(api, 'pickup-locations', { sku, ...search }) : null,
  );
  const [pickup, retryPickup] = useJson(
    sku && selected && !parent ? storefrontUrl(api, 'delivery-estimate', { sku, qty: search.qty, store: selected.source_code }) : null,
  );

  const submit = (event) => {
    event.preventDefault();
    setSelected(null);
    setSearch({ postcode: postcode.trim(), country: country.trim(), qty: quantity() });
  };
  const choose = (location) => {
    setSelected(location);
    host?.dispatchEvent(new CustomEvent('omsbridge:store-selected', {
      bubbles: true,
      detail: { sku, qty: search.qty, store: { source_code: location.source_code, name: location.name } },
    }));
  };
  const locations = stores.status === 'ok' ? stores.data.locations : [];
  return (
    <section className="omsb omsb-pickup" aria-labelledby={`${id}-heading`} aria-busy={stores.status === 'loading'}>
      <h3 id={`${id}-heading`} className="omsb-heading">{text.pickupHeading}</h3>
      {parent && <p className="omsb-status">{text.chooseForPickup}</p>}
      <DestinationForm id={id} postcode={postcode} country={country} onPostcode={setPostcode}
                       onCountry={setCountry} onSubmit={submit} submitLabel={text.findStores} disabled={parent} />
      {stores.status === 'loading' && <Loading>{text.storesLoading}</Loading>}
      {stores.status === 'error' && <Failure message={stores.message} onRetry={retryStores} />}
      {stores.status === 'ok' && locations.length === 0 && (
        <p className="omsb-status" role="status">{text.noStores(stores.data.near.postcode || '')}</p>
      )}
      {locations.length > 0 && (
        <fieldset className="omsb-stores">
          <legend>{text.chooseStore}</legend>
          {locations.map((location) => {
            const inputId = `${id}-${location.source_code}`;
            return (
              <div key={location.source_code} className="omsb-store" data-source={location.source_code}>
                <input type="radio" id={inputId} name={`${id}-store`} value={location.source_code}
                       disabled={!location.available} checked={selected?.source_code === location.source_code}
                       onChange={() => choose(location)} aria-describedby={`${inputId}-details`} />
                <label htmlFor={inputId}>
                  <span className="omsb-name">{location.name}</span>
                  <span className="omsb-distance">{text.distance(location.distance, stores.data.distance_unit)}</span>
                </label>
                <span id={`${inputId}-details`} className="omsb-details">
                  <span className="omsb-address">{addressLine(location.address)}</span>
                  <span className={`omsb-level omsb-level--${location.available ? location.level : 'out_of_stock'}`}>
                    {location.available ? text.availableForPickup(location.quantity) : text.notAvailableForPickup}
                  </span>
                </span>
              </div>
            );
          })}
        </fieldset>
      )}
      {selected && pickup.status === 'loading' && <Loading>{text.pickupLoading}</Loading>}
      {selected && pickup.status === 'error' && <Failure message={pickup.message} onRetry={retryPickup} />}
      {selected && pickup.status === 'ok' && (
        <p className="omsb-result" role="status">
          {pickup.data.available && (
            <>
              {text.readyForPickup} <strong>{pickup.data.store.name}</strong>
              {pickup.data.date && (
                <>
                  {' '}{text.on} <time dateTime={pickup.data.date}>{formatDay(pickup.data.date)}</time>
                </>
              )}
            </>
          )}
          {!pickup.data.available && text.cannotPickUp(pickup.data.store.name)}
        </p>
      )}
    </section>
  );
}
