using System.Globalization;
using IoVirt.Arbitration;

namespace IoVirt.Backends.Gpu.Sharing;

/// <summary>
/// How guests share one GPU's time, after the modes GPU virtualisation products offer, as mClock
/// reservations, weights and limits (fractions of <see cref="GpuTurnTable.Capacity"/>):
/// <list type="bullet">
/// <item><c>best-effort</c> (NVIDIA vGPU's best effort): equal weights, no floor and no ceiling;
/// an idle guest's time goes to the busy ones.</item>
/// <item><c>equal</c> (vGPU equal share): each of the N guests is held to 1/N of the GPU and
/// promised it, busy or not the others.</item>
/// <item><c>fixed:S</c> (vGPU fixed share): each guest gets 1/S of the GPU, S being the slots the
/// GPU was cut into (at least the guests), so a guest's share does not change as others come and go.</item>
/// <item><c>weighted:W1,W2,…</c> (GVT-g's weighted time slices): guest i's share of the busy GPU
/// is proportional to Wi; idle time goes to the busy ones.</item>
/// </list>
/// </summary>
public static class GpuSharePolicy
{
    /// <summary>The modes' names as the command line spells them.</summary>
    public const string Modes = "best-effort, equal, fixed:SLOTS or weighted:W1,W2,...";

    /// <summary>The share of each of <paramref name="guests"/> guests under <paramref name="mode"/>; null, with the reason in <paramref name="why"/>, when the mode is not one or does not fit that many guests.</summary>
    public static TenantSpec[]? Parse(string mode, int guests, out string why)
    {
        ArgumentNullException.ThrowIfNull(mode);
        ArgumentOutOfRangeException.ThrowIfLessThan(guests, 1);
        why = string.Empty;
        var (name, argument) = mode.IndexOf(':', StringComparison.Ordinal) is var colon and >= 0 ? (mode[..colon], mode[(colon + 1)..]) : (mode, null);
        switch (name)
        {
            case "best-effort" when argument is null:
                return Same(guests, new TenantSpec(0, 1, 0));
            case "equal" when argument is null:
                return Same(guests, Slot(guests));
            case "fixed" when int.TryParse(argument, NumberStyles.None, CultureInfo.InvariantCulture, out var slots) && slots >= 1:
                if (slots < guests)
                {
                    why = $"fixed:{slots} cuts the GPU into fewer slots than the {guests} guests";
                    return null;
                }

                return Same(guests, Slot(slots));
            case "weighted" when argument is not null:
                var weights = argument.Split(',');
                var specs = new TenantSpec[weights.Length];
                for (var i = 0; i < weights.Length; i++)
                {
                    if (!double.TryParse(weights[i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var weight) || !(weight > 0) || double.IsInfinity(weight))
                    {
                        why = $"weight '{weights[i]}' is not a positive number";
                        return null;
                    }

                    specs[i] = new TenantSpec(0, weight, 0);
                }

                if (specs.Length != guests)
                {
                    why = $"{specs.Length} weights for {guests} guests";
                    return null;
                }

                return specs;
            default:
                why = $"'{mode}' is not a mode: {Modes}";
                return null;
        }
    }

    /// <summary>1/<paramref name="slots"/> of the GPU as both floor and ceiling (the floor a hair under, so that N of them fit the capacity whatever the rounding).</summary>
    private static TenantSpec Slot(int slots)
    {
        var share = GpuTurnTable.Capacity / slots;
        return new TenantSpec(share * (1 - 1e-9), 1, share);
    }

    private static TenantSpec[] Same(int guests, TenantSpec spec) => Enumerable.Repeat(spec, guests).ToArray();
}
