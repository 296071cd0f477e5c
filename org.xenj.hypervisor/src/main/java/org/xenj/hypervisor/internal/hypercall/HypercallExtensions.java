package org.xenj.hypervisor.internal.hypercall;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.xenj.hypervisor.spi.hypercall.HypercallExtension;

/**
 * Collects {@link HypercallExtension} services of other bundles into every hypercall table; an
 * extension leaving (bundle stopped/updated) is removed at once, its number answering -ENOSYS.
 */
@Component(immediate = true, service = HypercallExtensions.class)
public final class HypercallExtensions {

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void bindExtension(HypercallExtension ext) {
        XenHosts.addExtension(ext);
    }

    void unbindExtension(HypercallExtension ext) {
        XenHosts.removeExtension(ext);
    }
}
