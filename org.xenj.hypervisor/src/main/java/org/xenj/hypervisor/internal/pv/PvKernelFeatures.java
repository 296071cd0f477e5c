package org.xenj.hypervisor.internal.pv;

import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.internal.hypercall.XenFeatures;
import org.xenj.hypervisor.internal.mem.MachineMemory;

/**
 * A PV kernel's Xen features, negotiated as Xen's libelf and toolstack do: {@code XEN_ELFNOTE_FEATURES}
 * (or the legacy {@code FEATURES=}) is a '|'-separated list of names from features.h without the
 * {@code XENFEAT_} prefix, {@code !name} meaning required; {@code XEN_ELFNOTE_SUPPORTED_FEATURES} adds a
 * bitmap of supported ones. Unknown optional names are ignored, an unknown required name refuses
 * the image (libelf's parse error), and a required feature is refused only when xenj truly cannot
 * give it to a PV domain:
 * <ul>
 * <li>{@code writable_page_tables}: given (VMASST_TYPE_writable_pagetables, which the kernel turns on);</li>
 * <li>{@code pae_pgdir_above_4gb}: given while every machine frame is below 4 GiB (32-bit CR3);</li>
 * <li>{@code auto_translated_physmap}: refused, as Xen's toolstack ("PV Autotranslate guests no longer supported");</li>
 * <li>{@code dom0}: refused, as Xen's toolstack (the kernel cannot run as a DomU);</li>
 * <li>{@code writable_descriptor_tables}, {@code supervisor_mode_kernel}, {@code hvm_callback_vector}:
 * refused (descriptor frames stay read-only, the kernel runs in ring 1, no HVM callback for PV).</li>
 * </ul>
 */
public final class PvKernelFeatures {

    /** libelf's name table (elf_xen_feature_names): the only names a FEATURES note may use. */
    private static final String[] NAMES = new String[12];

    static {
        NAMES[XENFEAT_WRITABLE_PAGE_TABLES] = "writable_page_tables";
        NAMES[XENFEAT_WRITABLE_DESCRIPTOR_TABLES] = "writable_descriptor_tables";
        NAMES[XENFEAT_AUTO_TRANSLATED_PHYSMAP] = "auto_translated_physmap";
        NAMES[XENFEAT_SUPERVISOR_MODE_KERNEL] = "supervisor_mode_kernel";
        NAMES[XENFEAT_PAE_PGDIR_ABOVE_4GB] = "pae_pgdir_above_4gb";
        NAMES[XENFEAT_HVM_CALLBACK_VECTOR] = "hvm_callback_vector";
        NAMES[XENFEAT_DOM0] = "dom0";
    }

    /** The kernel's supported and required XENFEAT bitmaps (submap 0). */
    public record Negotiated(int supported, int required) {
    }

    private PvKernelFeatures() {
    }

    /** Parses the kernel's notes; an unknown required name is a {@link HypervisorException}. */
    public static Negotiated parse(ElfKernel kernel) {
        int supported = kernel.supportedFeaturesNote();
        int required = 0;
        for (String token : kernel.features().split("\\|")) {
            boolean req = token.startsWith("!");
            String name = req ? token.substring(1) : token;
            int bit = bitOf(name);
            if (bit < 0) {
                if (req) {
                    throw new HypervisorException("PV kernel requires unknown Xen feature '" + name
                            + "' (XEN_ELFNOTE_FEATURES; Xen refuses such an image too)");
                }
                continue;
            }
            supported |= 1 << bit;
            if (req) {
                required |= 1 << bit;
            }
        }
        return new Negotiated(supported, required);
    }

    private static int bitOf(String name) {
        for (int i = 0; i < NAMES.length; i++) {
            if (name.equals(NAMES[i])) {
                return i;
            }
        }
        return -1;
    }

    /** Parses and checks the kernel's features for a PV domain on {@code machine}; refuses what xenj cannot give. */
    public static Negotiated negotiate(ElfKernel kernel, MachineMemory machine) {
        Negotiated n = parse(kernel);
        for (int bit = 0; bit < NAMES.length; bit++) {
            if ((n.required() & 1 << bit) == 0) {
                continue;
            }
            String why = switch (bit) {
                case XENFEAT_WRITABLE_PAGE_TABLES -> null;
                case XENFEAT_PAE_PGDIR_ABOVE_4GB -> XenFeatures.allFramesBelow4G(machine) ? null
                        : "xenj.memory is above 4 GiB and a PV vCPU's CR3 is 32 bits";
                case XENFEAT_AUTO_TRANSLATED_PHYSMAP -> "PV guests are not auto-translated (Xen: PV Autotranslate guests no longer supported)";
                case XENFEAT_DOM0 -> "the kernel runs only as Domain 0 and would be a DomU here";
                case XENFEAT_WRITABLE_DESCRIPTOR_TABLES -> "descriptor-table frames stay read-only (update_descriptor)";
                case XENFEAT_SUPERVISOR_MODE_KERNEL -> "PV kernels run in ring 1";
                case XENFEAT_HVM_CALLBACK_VECTOR -> "it is an HVM feature";
                default -> "not offered";
            };
            if (why != null) {
                throw new HypervisorException("PV kernel requires Xen feature '" + NAMES[bit] + "', which xenj does not offer: " + why);
            }
        }
        return n;
    }
}
