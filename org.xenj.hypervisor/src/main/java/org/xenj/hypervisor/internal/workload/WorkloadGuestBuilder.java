package org.xenj.hypervisor.internal.workload;

import org.osgi.service.component.annotations.Component;
import org.xenj.hypervisor.api.DomainType;
import org.xenj.hypervisor.internal.exec.Guest;
import org.xenj.hypervisor.internal.exec.GuestBuilder;
import org.xenj.hypervisor.internal.exec.GuestContext;

/** Builds WORKLOAD domains ({@code type="workload"}, {@code workload=spin|idle|duty:<pct>}). */
@Component(service = GuestBuilder.class)
public final class WorkloadGuestBuilder implements GuestBuilder {

    @Override
    public boolean supports(DomainType type) {
        return type == DomainType.WORKLOAD;
    }

    @Override
    public Guest build(GuestContext context) {
        String w = context.config().workload();
        if (w == null) {
            w = context.config().raw().get("workload");
        }
        return new WorkloadGuest(context, WorkloadSpec.parse(w));
    }
}
