// Mounts the storefront components on any page: an element with data-omsbridge="stock", "pickup" or
// "delivery" and a data-sku gets that component. Optional attributes:
//   data-api          base URL of the storefront API (the stack's StorefrontApiUrl); default: this origin
//   data-qty          quantity to check (default 1), or data-qty-input: a selector of the page's qty field
//   data-postcode, data-country   a known destination (pickup and delivery ask for one otherwise)
//   data-configurable  a configurable product's children and their option values (options.js): the
//                      component follows the option the shopper chooses
// Changing data-sku or data-qty re-renders the component (a configurable product's chosen child).
import { createRoot } from 'react-dom/client';
import { DeliveryEstimate } from './DeliveryEstimate.jsx';
import { PickupLocations } from './PickupLocations.jsx';
import { followOptions } from './options.js';
import { StockByLocation } from './StockByLocation.jsx';
import './styles.css';

const COMPONENTS = { stock: StockByLocation, pickup: PickupLocations, delivery: DeliveryEstimate };
const WATCHED = ['data-sku', 'data-qty', 'data-api'];
const mounted = new WeakMap();

function quantityOf(element) {
  return () => {
    const selector = element.dataset.qtyInput;
    const field = selector ? document.querySelector(selector) : null;
    const value = Number.parseInt(field ? field.value : element.dataset.qty, 10);
    return Number.isFinite(value) && value > 0 ? value : 1;
  };
}

function render(element) {
  const Component = COMPONENTS[element.dataset.omsbridge];
  const sku = (element.dataset.sku || '').trim();
  if (!Component || !sku) return;
  const props = {
    api: element.dataset.api || '',
    sku,
    quantity: quantityOf(element),
    postcode: element.dataset.postcode || '',
    country: element.dataset.country || '',
    host: element,
    // The configurable parent itself: pickup and delivery wait for the options to be chosen.
    parent: Boolean(element.dataset.parentSku) && sku === element.dataset.parentSku,
  };
  // A new SKU or quantity starts the component afresh (key), dropping a store picked for the old one.
  mounted.get(element).root.render(<Component key={`${sku}|${element.dataset.qty || ''}`} {...props} />);
}

export function mount(element) {
  if (mounted.has(element)) return;
  const observer = new MutationObserver(() => render(element));
  mounted.set(element, { root: createRoot(element), observer });
  followOptions(element);
  observer.observe(element, { attributes: true, attributeFilter: WATCHED });
  render(element);
}

export function mountAll(root = document) {
  root.querySelectorAll('[data-omsbridge]').forEach(mount);
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', () => mountAll());
} else {
  mountAll();
}
