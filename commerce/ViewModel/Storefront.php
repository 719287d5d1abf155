<?php
declare(strict_types=1);

namespace OmsBridge\Connector\ViewModel;

use Magento\Catalog\Model\Product;
use Magento\ConfigurableProduct\Model\Product\Type\Configurable;
use Magento\Directory\Helper\Data as DirectoryHelper;
use Magento\Framework\Serialize\Serializer\Json;
use Magento\Framework\View\Asset\Repository as AssetRepository;
use Magento\Framework\View\Element\Block\ArgumentInterface;
use Magento\Store\Model\StoreManagerInterface;
use OmsBridge\Connector\Model\Config;

/**
 * What the product page's availability block needs: whether to show it, where the storefront API
 * is, the store's default country, the bundle built from oms-bridge's storefront/ folder, and for a
 * configurable product which child each choice of options is.
 */
class Storefront implements ArgumentInterface
{
    public const BUNDLE = 'OmsBridge_Connector::storefront/omsbridge-storefront.js';
    /** Luma's add-to-cart form, whose super_attribute[<attribute id>] fields hold the chosen options. */
    public const ADD_TO_CART_FORM = '#product_addtocart_form';

    public function __construct(
        private readonly Config $config,
        private readonly StoreManagerInterface $storeManager,
        private readonly DirectoryHelper $directory,
        private readonly AssetRepository $assets,
        private readonly Json $json
    ) {
    }

    public function isEnabled(): bool
    {
        return $this->config->isStorefrontEnabled($this->storeId());
    }

    public function apiUrl(): string
    {
        return $this->config->storefrontApiUrl($this->storeId());
    }

    public function defaultCountry(): string
    {
        return (string)$this->directory->getDefaultCountry($this->storeManager->getStore());
    }

    public function bundleUrl(): string
    {
        return $this->assets->getUrl(self::BUNDLE);
    }

    /**
     * For a configurable product, its children and the option values choosing each (JSON for the
     * components' data-configurable attribute, storefront/src/options.js); '' for any other product.
     */
    public function configurableJson(Product $product): string
    {
        if ($product->getTypeId() !== Configurable::TYPE_CODE) {
            return '';
        }
        /** @var Configurable $type */
        $type = $product->getTypeInstance();
        $codes = [];
        foreach ($type->getConfigurableAttributes($product) as $attribute) {
            $productAttribute = $attribute->getProductAttribute();
            $codes[(string)$productAttribute->getId()] = (string)$productAttribute->getAttributeCode();
        }
        $children = [];
        foreach ($type->getUsedProducts($product) as $child) {
            $options = [];
            foreach ($codes as $attributeId => $code) {
                $options[$attributeId] = (string)$child->getData($code);
            }
            $children[] = ['sku' => (string)$child->getSku(), 'options' => $options];
        }
        return (string)$this->json->serialize(['form' => self::ADD_TO_CART_FORM, 'children' => $children]);
    }

    private function storeId(): int
    {
        return (int)$this->storeManager->getStore()->getId();
    }
}
