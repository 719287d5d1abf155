<?php
/**
 * oms-bridge Commerce module: storefront components, Commerce-side event and webhook registration,
 * and the admin changes for a store whose fulfilment IBM Sterling Order Management owns.
 */
declare(strict_types=1);

use Magento\Framework\Component\ComponentRegistrar;

ComponentRegistrar::register(ComponentRegistrar::MODULE, 'OmsBridge_Connector', __DIR__);
