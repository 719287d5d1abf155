<?php
declare(strict_types=1);

namespace OmsBridge\Connector\ViewModel;

use Magento\Directory\Helper\Data as DirectoryHelper;
use Magento\Framework\View\Asset\Repository as AssetRepository;
use Magento\Framework\View\Element\Block\ArgumentInterface;
use Magento\Store\Model\StoreManagerInterface;
use OmsBridge\Connector\Model\Config;

/**
 * What the product page's availability block needs: whether to show it, where the storefront API
 * is, the store's default country, and the bundle built from oms-bridge's storefront/ folder.
 */
class Storefront implements ArgumentInterface
{
    public const BUNDLE = 'OmsBridge_Connector::storefront/omsbridge-storefront.js';

    public function __construct(
        private readonly Config $config,
        private readonly StoreManagerInterface $storeManager,
        private readonly DirectoryHelper $directory,
        private readonly AssetRepository $assets
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

    private function storeId(): int
    {
        return (int)$this->storeManager->getStore()->getId();
    }
}
