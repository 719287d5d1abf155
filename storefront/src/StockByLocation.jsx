import { useId } from 'react';
import { storefrontUrl } from './api.js';
import { addressLine, levelText, text } from './messages.js';
import { Failure, Loading } from './Status.jsx';
import { useJson } from './useJson.js';

// Stock per location for one SKU: GET /storefront/stock. For a configurable parent the API answers
// per child: the component sums them up until an option is chosen (data-sku then names the child).
export function StockByLocation({ api, sku }) {
  const headingId = useId();
  const [state, retry] = useJson(sku ? storefrontUrl(api, 'stock', { sku }) : null);
  const options = state.status === 'ok' && state.data.configurable ? state.data.children : null;
  const locations = state.status === 'ok' && !options ? state.data.locations : [];
  const stocked = locations.filter((location) => location.level !== 'out_of_stock').length;
  const optionsInStock = options ? options.filter((child) => child.in_stock).length : 0;
  return (
    <section className="omsb omsb-stock" aria-labelledby={headingId} aria-busy={state.status === 'loading'}>
      <h3 id={headingId} className="omsb-heading">{text.stockHeading}</h3>
      {state.status === 'loading' && <Loading>{text.stockLoading}</Loading>}
      {state.status === 'error' && <Failure message={state.message} onRetry={retry} />}
      {options && (
        <>
          <p className="omsb-summary" role="status">
            {optionsInStock > 0 ? text.optionsSummary(optionsInStock, options.length) : text.optionsNone}
          </p>
          <p className="omsb-status">{text.chooseForStock}</p>
        </>
      )}
      {state.status === 'ok' && !options && (
        <>
          <p className="omsb-summary" role="status">
            {stocked > 0 ? text.stockSummary(stocked) : text.stockNone}
          </p>
          {locations.length > 0 && (
            <table className="omsb-table">
              <caption className="omsb-visually-hidden">{text.stockCaption(sku)}</caption>
              <thead>
                <tr>
                  <th scope="col">{text.columnLocation}</th>
                  <th scope="col">{text.columnAvailability}</th>
                </tr>
              </thead>
              <tbody>
                {locations.map((location) => (
                  <tr key={location.source_code} data-source={location.source_code}>
                    <th scope="row">
                      <span className="omsb-name">{location.name}</span>
                      {location.address && <span className="omsb-address">{addressLine(location.address)}</span>}
                    </th>
                    <td>
                      <span className={`omsb-level omsb-level--${location.level}`}>
                        {levelText(location.level, location.quantity)}
                      </span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
