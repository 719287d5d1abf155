// Follows a configurable product's chosen options. The page gives the parent SKU in data-sku and, in
// data-configurable, its children with the option values that choose each:
//   {"form": "#product_addtocart_form", "children": [{"sku": "MH-1-M-BLUE", "options": {"93": "52", "144": "167"}}]}
// The add-to-cart form's super_attribute[<attribute id>] fields hold the shopper's choice, as Luma's
// swatches (hidden inputs) and drop-downs (selects) keep it. Those scripts set the values in their own
// click and change handlers and tell only jQuery, so every click, change or key in the form is
// followed by a read of the fields once those handlers have run. All options chosen and matching a
// child: data-sku becomes the child's SKU; anything else: the parent's.

function parse(element) {
  try {
    const config = JSON.parse(element.dataset.configurable || '');
    return Array.isArray(config.children) && config.children.length ? config : null;
  } catch {
    return null;
  }
}

export function chosenChild(config, form) {
  const attributes = Object.keys(config.children[0].options || {});
  const chosen = {};
  for (const id of attributes) {
    const field = form?.querySelector(`[name="super_attribute[${id}]"]`);
    if (!field || !field.value) return null;
    chosen[id] = String(field.value);
  }
  const child = config.children.find((candidate) =>
    attributes.every((id) => String(candidate.options?.[id] ?? '') === chosen[id]));
  return child ? child.sku : null;
}

// Starts following the options for `element`; returns the parent SKU (null if it is no configurable).
export function followOptions(element) {
  const config = parse(element);
  if (!config) return null;
  const parent = element.dataset.parentSku || element.dataset.sku;
  element.dataset.parentSku = parent;
  const update = () => {
    const form = document.querySelector(config.form || 'form');
    const sku = chosenChild(config, form) || parent;
    if (element.dataset.sku !== sku) element.dataset.sku = sku;
  };
  const later = () => setTimeout(update, 0);
  for (const type of ['click', 'change', 'keyup']) document.addEventListener(type, later, true);
  window.addEventListener('load', later);
  update();
  return parent;
}
