using System.Reflection;

namespace IoVirt.Tests.Suite;

/// <summary>The unit tier stays in-process: a new test class that needs more cannot slip into it untagged.</summary>
public sealed class TierTests
{
    /// <summary>Folders whose tests all run other programs (daemons, QEMU, testpmd, gcc) or need namespaces.</summary>
    private static readonly string[] IntegrationNamespaces = ["IoVirt.Tests.Daemon", "IoVirt.Tests.Integration", "IoVirt.Tests.Abi"];

    [Fact]
    public void Every_test_class_in_an_integration_folder_is_tagged_integration()
    {
        var untagged = typeof(TierTests).Assembly.GetTypes()
            .Where(type => InIntegrationFolder(type) && HasTests(type) && !IsIntegration(type))
            .Select(type => type.FullName)
            .ToList();
        Assert.True(untagged.Count == 0, $"tag these [Trait(Tier.Name, Tier.Integration)]: {string.Join(", ", untagged)}");
    }

    [Fact]
    public void The_unit_tier_holds_most_tests_and_the_integration_tier_some()
    {
        var tests = typeof(TierTests).Assembly.GetTypes().Where(HasTests)
            .SelectMany(type => type.GetMethods().Where(IsTest).Select(method => IsIntegration(type) || IsIntegration(method)))
            .ToList();
        Assert.Contains(true, tests);
        Assert.True(tests.Count(integration => !integration) > tests.Count / 2, "fewer than half the test methods are unit tests");
    }

    private static bool InIntegrationFolder(Type type) =>
        IntegrationNamespaces.Any(space => type.Namespace == space || type.Namespace?.StartsWith(space + ".", StringComparison.Ordinal) == true);

    private static bool HasTests(Type type) => type.GetMethods().Any(IsTest);

    private static bool IsTest(MethodInfo method) => method.GetCustomAttributes<FactAttribute>().Any();

    /// <summary>xunit keeps a trait's name and value only in the attribute's constructor arguments.</summary>
    private static bool IsIntegration(MemberInfo member) =>
        member.GetCustomAttributesData().Any(data => data.AttributeType == typeof(TraitAttribute)
            && data.ConstructorArguments is [{ Value: Tier.Name }, { Value: Tier.Integration }]);
}
