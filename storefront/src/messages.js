// Every word the components show, in one place, so a store can translate them.
export const text = {
  stockHeading: 'Availability by location',
  stockCaption: (sku) => `Stock of ${sku} by location`,
  stockLoading: 'Checking stock…',
  stockSummary: (count) => (count === 1 ? 'In stock at 1 location' : `In stock at ${count} locations`),
  stockNone: 'Out of stock at every location',
  optionsSummary: (inStock, total) => `In stock in ${inStock} of ${total} options`,
  optionsNone: 'Out of stock in every option',
  chooseForStock: 'Choose your options to see the stock at each location.',
  chooseForPickup: 'Choose your options to find a store that has them.',
  chooseForDelivery: 'Choose your options to see when they arrive.',
  columnLocation: 'Location',
  columnAvailability: 'Availability',
  inStock: (quantity) => (quantity == null ? 'In stock' : `In stock (${quantity})`),
  lowStock: (quantity) => (quantity == null ? 'Low stock' : `Only ${quantity} left`),
  outOfStock: 'Out of stock',
  pickupHeading: 'Pick up in store',
  postcode: 'Postcode',
  country: 'Country code',
  findStores: 'Find stores',
  storesLoading: 'Looking for stores…',
  noStores: (postcode) => `No pickup store near ${postcode}.`,
  chooseStore: 'Choose a store',
  distance: (value, unit) => `${value} ${unit}`,
  availableForPickup: (quantity) => (quantity == null ? 'Available' : `Available (${quantity} in store)`),
  notAvailableForPickup: 'Not available in this quantity',
  pickupLoading: 'Checking when it is ready…',
  readyForPickup: 'Ready for pickup at',
  on: 'on',
  cannotPickUp: (store) => `${store} cannot have this quantity ready.`,
  deliveryHeading: 'Estimated delivery',
  checkDelivery: 'Check delivery date',
  deliveryLoading: 'Checking delivery date…',
  arrivesBy: 'Arrives by',
  deliverable: 'Available for delivery.',
  notDeliverable: (available) =>
    available > 0 ? `Only ${available} can be delivered; not available in this quantity.` : 'Not available for delivery.',
  tryAgain: 'Try again',
  unreachable: 'Stock information is temporarily unavailable. Please try again in a moment.',
};

export function levelText(level, quantity) {
  if (level === 'in_stock') return text.inStock(quantity);
  if (level === 'low_stock') return text.lowStock(quantity);
  return text.outOfStock;
}

export function addressLine(address) {
  if (!address) return '';
  return [address.street, address.city, address.postcode].filter(Boolean).join(', ');
}

// A calendar day (YYYY-MM-DD) in the page's language, never shifted by the browser's time zone.
export function formatDay(day) {
  const [year, month, date] = day.split('-').map(Number);
  const locale = document.documentElement.lang || undefined;
  return new Intl.DateTimeFormat(locale, { weekday: 'long', day: 'numeric', month: 'long', timeZone: 'UTC' })
    .format(new Date(Date.UTC(year, month - 1, date)));
}
