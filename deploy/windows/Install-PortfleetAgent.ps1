# SPDX-License-Identifier: MIT
<#
.SYNOPSIS
    Installs or upgrades the portfleet agent as a Windows service.

.DESCRIPTION
    What an RMM tool runs on each connector host (as Administrator or
    SYSTEM). Copies portfleet-agent.exe to the install directory (stopping
    the running service first when it is an upgrade), copies the collector's
    CA certificate beside it when -CaFile is given, and runs
    `portfleet-agent.exe install`, which
    writes the options to the ACL-protected config file, registers the
    service (automatic start, LocalSystem, restart on failure) and starts
    it. Then checks that the service runs. Running it again with the same
    parameters leaves the same result.

    Exit codes: 0 installed and running; 1 the agent's install failed;
    2 bad parameters; 3 not run as Administrator; 4 the service does not run
    after installing. Every failure prints one line saying what and where.

.EXAMPLE
    .\Install-PortfleetAgent.ps1 -CollectorUrl https://collector1:8443,https://collector2:8443 `
        -EnrollSecret $secret -Site nyc -CaFile .\collector-ca.pem
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string[]] $CollectorUrl,

    [Parameter(Mandatory = $true)]
    [string] $EnrollSecret,

    [string] $Site = 'default',

    # Only when Windows does not trust the collector's CA: without it the
    # agent uses the ROOT and CA certificate stores of the machine.
    [string] $CaFile = '',

    # The agent to install; by default the one beside this script.
    [string] $ExePath = (Join-Path $PSScriptRoot 'portfleet-agent.exe'),

    [string] $InstallDir = (Join-Path $env:ProgramFiles 'portfleet'),

    [string] $StateDir = (Join-Path $env:ProgramData 'portfleet'),

    [ValidateRange(1, 86400)]
    [int] $IntervalSeconds = 60,

    [ValidateRange(5, 600)]
    [int] $StartTimeoutSeconds = 60
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ServiceName = 'portfleet-agent'

function Fail([int] $Code, [string] $Message) {
    [Console]::Error.WriteLine("Install-PortfleetAgent: $Message")
    exit $Code
}

# ---- checks before touching anything ----------------------------------------

$principal = New-Object Security.Principal.WindowsPrincipal(
    [Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    Fail 3 'must run as Administrator (or SYSTEM): it installs a service'
}
if (-not (Test-Path -LiteralPath $ExePath -PathType Leaf)) {
    Fail 2 "-ExePath: no agent at '$ExePath'"
}
foreach ($url in $CollectorUrl) {
    if ($url -notmatch '^https://[^/\s]+') {
        Fail 2 "-CollectorUrl: '$url' is not an https:// URL"
    }
}
if ([string]::IsNullOrWhiteSpace($EnrollSecret)) {
    Fail 2 '-EnrollSecret: empty'
}
# Windows PowerShell 5.1 does not escape a double quote inside an argument
# it hands to a program: the agent would receive a different secret.
if ($EnrollSecret.Contains('"') -or $EnrollSecret -match '[\r\n]') {
    Fail 2 '-EnrollSecret: must not contain a double quote or a line break'
}
if ($Site -notmatch '^[A-Za-z0-9._-]{1,63}$') {
    Fail 2 "-Site: '$Site' must be 1-63 letters, digits, '.', '_' or '-'"
}
if ($CaFile -ne '' -and -not (Test-Path -LiteralPath $CaFile -PathType Leaf)) {
    Fail 2 "-CaFile: no file at '$CaFile'"
}

# ---- install or upgrade the files -------------------------------------------

$target = Join-Path $InstallDir 'portfleet-agent.exe'
try {
    New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
    $sameExe = (Test-Path -LiteralPath $target -PathType Leaf) -and
        ((Get-FileHash -LiteralPath $target -Algorithm SHA256).Hash -eq
         (Get-FileHash -LiteralPath $ExePath -Algorithm SHA256).Hash)
    if (-not $sameExe) {
        $svc = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
        if ($null -ne $svc -and $svc.Status -ne 'Stopped') {
            Write-Output "stopping $ServiceName to upgrade it"
            Stop-Service -Name $ServiceName -Force
            $svc.WaitForStatus('Stopped', [TimeSpan]::FromSeconds($StartTimeoutSeconds))
        }
        # The old process may hold the .exe for a moment after it stopped.
        for ($try = 1; ; $try++) {
            try {
                Copy-Item -LiteralPath $ExePath -Destination $target -Force
                break
            } catch {
                if ($try -ge 10) { throw }
                Start-Sleep -Seconds 1
            }
        }
        Write-Output "installed $target"
    } else {
        Write-Output "$target is already this version"
    }
    $caArgs = @()
    if ($CaFile -ne '') {
        $caTarget = Join-Path $InstallDir 'collector-ca.pem'
        Copy-Item -LiteralPath $CaFile -Destination $caTarget -Force
        $caArgs = @('--ca-file', $caTarget)
    }
} catch {
    Fail 1 "cannot install the files in ${InstallDir}: $($_.Exception.Message)"
}

# ---- register and start the service -----------------------------------------

$agentArgs = @('install')
foreach ($url in $CollectorUrl) {
    $agentArgs += @('--collector', $url)
}
$agentArgs += @('--enroll-secret', $EnrollSecret, '--site', $Site,
                '--state-dir', $StateDir, '--config', (Join-Path $StateDir 'agent.conf'),
                '--interval', "$IntervalSeconds")
$agentArgs += $caArgs

$output = & $target @agentArgs 2>&1
$code = $LASTEXITCODE
$output | ForEach-Object { Write-Output "  $_" }
if ($code -ne 0) {
    Fail 1 "'portfleet-agent.exe install' failed with exit code $code (see above)"
}

# ---- verify ------------------------------------------------------------------

$svc = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
if ($null -eq $svc) {
    Fail 4 "service $ServiceName is not registered after installing"
}
try {
    $svc.WaitForStatus('Running', [TimeSpan]::FromSeconds($StartTimeoutSeconds))
} catch {
    $log = Join-Path $StateDir 'agent.log'
    $tail = ''
    if (Test-Path -LiteralPath $log) {
        $tail = (Get-Content -LiteralPath $log -Tail 5) -join ' | '
    }
    Fail 4 "service $ServiceName is $($svc.Status), not Running, after $StartTimeoutSeconds s; last log lines: $tail"
}
$startMode = (Get-CimInstance -ClassName Win32_Service -Filter "Name='$ServiceName'").StartMode
if ($startMode -ne 'Auto') {
    Fail 4 "service $ServiceName start mode is '$startMode', not Auto"
}
Write-Output "portfleet agent installed and running (site $Site, $($CollectorUrl.Count) collector(s))"
exit 0
