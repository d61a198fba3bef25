using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;

namespace IoVirt.Cli;

/// <summary>
/// A command whose help goes on after the generated description, usage and options: what the
/// command prints, its exit codes, how it treats its socket (<see cref="Details"/>).
/// </summary>
internal sealed class DocumentedCommand(string name, string description) : Command(name, description)
{
    public string Details { get; init; } = string.Empty;
}

/// <summary>
/// The command line on System.CommandLine: no response files or option bundling (an argument
/// is taken as written), a usage error as one line on stderr with a pointer to --help (exit
/// 2), and help as System.CommandLine writes it followed by the command's <see cref="DocumentedCommand.Details"/>.
/// </summary>
internal static class CommandLine
{
    private static readonly ParserConfiguration Parsing = new() { ResponseFileTokenReplacer = null, EnablePosixBundling = false };

    /// <summary>
    /// Parses <paramref name="args"/> for <paramref name="root"/>, with the settings of a
    /// <c>--config</c> file (<see cref="SettingsFileOption"/>), and runs the command they name; its exit code.
    /// </summary>
    public static int Run(RootCommand root, string[] args)
    {
        ArgumentNullException.ThrowIfNull(root);
        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new DetailedHelpAction((HelpAction)help.Action!);
        if (SettingsFileOption.Expand(root, args, out var fileError) is not { } expanded)
        {
            Console.Error.WriteLine($"iovirt {args[0]}: {fileError}");
            Console.Error.WriteLine($"Run 'iovirt {args[0]} --help' for the options.");
            return 2;
        }

        var result = root.Parse(expanded, Parsing);
        if (result.Action is ParseErrorAction)
        {
            return UsageError(result, result.Errors[0].Message);
        }

        // Exceptions stay unhandled, as any program's; signals are the daemons' host's to handle.
        return result.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null });
    }

    /// <summary>Prints the help of the command <paramref name="result"/> names; exit code 0.</summary>
    public static int Help(ParseResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var help = result.RootCommandResult.Command.Options.OfType<HelpOption>().Single();
        return ((SynchronousCommandLineAction)help.Action!).Invoke(result);
    }

    /// <summary>
    /// A usage error in the command <paramref name="result"/> names: one line saying what is wrong,
    /// one pointing to the command's --help (not the whole help, which would bury the line); exit code 2.
    /// </summary>
    public static int UsageError(ParseResult result, string message)
    {
        ArgumentNullException.ThrowIfNull(result);
        var command = string.Join(' ', Path(result.CommandResult));
        Console.Error.WriteLine($"{command}: {message}");
        Console.Error.WriteLine($"Run '{command} --help' for the options.");
        return 2;
    }

    /// <summary>An option with a value, shown in help as <paramref name="helpName"/>.</summary>
    public static Option<string> Text(string name, string helpName, string description, params string[] aliases) =>
        new(name, aliases) { HelpName = helpName, Description = description };

    /// <summary>An option without a value.</summary>
    public static Option<bool> Flag(string name, string description, params string[] aliases) =>
        new(name, aliases) { Arity = ArgumentArity.Zero, Description = description };

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>; null when absent; anything else is a usage error naming the range.</summary>
    public static Option<int?> Int(string name, string helpName, string description, int min, int max) => new(name)
    {
        HelpName = helpName,
        Description = description,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 0 ? null : result.Tokens[0].Value;
            if (text is null)
            {
                return null;
            }

            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            {
                result.AddError(string.Create(CultureInfo.InvariantCulture, $"bad {name} '{text}': a whole number from {min} to {max}"));
                return null;
            }

            return value;
        },
    };

    /// <summary>
    /// An option whose text <paramref name="parse"/> turns into a value, or into null with the
    /// reason, which becomes the usage error "bad NAME 'TEXT': REASON". Null when absent.
    /// </summary>
    public static Option<T?> Parsed<T>(string name, string helpName, string description, TryParse<T> parse, params string[] aliases)
        where T : struct => new(name, aliases)
        {
            HelpName = helpName,
            Description = description,
            CustomParser = result =>
            {
                if (result.Tokens.Count == 0)
                {
                    return null;
                }

                var text = result.Tokens[0].Value;
                if (parse(text, out var why) is { } value)
                {
                    return value;
                }

                result.AddError($"bad {name} '{text}': {why}");
                return null;
            },
        };

    /// <summary>
    /// Makes <paramref name="option"/> required in <paramref name="command"/> (as "--name NAME is
    /// required"), unless <paramref name="unless"/> is given (as --print-capabilities, which needs
    /// nothing else) or a subcommand is what runs.
    /// </summary>
    public static void Require(Command command, Option option, Option<bool>? unless = null)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(option);
        command.Validators.Add(result =>
        {
            if (result.GetResult(option) is null
                && (unless is null || !result.GetValue(unless))
                && !result.Children.OfType<CommandResult>().Any())
            {
                result.AddError($"{option.Name} {option.HelpName} is required");
            }
        });
    }

    /// <summary>The command's words from the program's name on, as "iovirt mux volumes".</summary>
    private static IEnumerable<string> Path(CommandResult? command)
    {
        var words = new Stack<string>();
        for (var at = command; at is not null; at = at.Parent as CommandResult)
        {
            words.Push(at.Command.Name);
        }

        return words;
    }

    /// <summary>The generated help, then the command's details.</summary>
    private sealed class DetailedHelpAction(HelpAction generated) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            var exit = generated.Invoke(parseResult);
            if (parseResult.CommandResult.Command is DocumentedCommand { Details.Length: > 0 } command)
            {
                parseResult.InvocationConfiguration.Output.Write(command.Details);
            }

            return exit;
        }
    }
}

/// <summary>Turns an option's text into a value, or into null and why not.</summary>
internal delegate T? TryParse<T>(string text, out string why)
    where T : struct;
