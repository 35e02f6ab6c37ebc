#!/usr/bin/perl
# log_gen.pl - make a large Postfix log for bench/log_bench.sh out of a real
# one: the template's lines are written again and again, each round with new
# queue IDs (every ID of the template mapped to a fresh unique one), new
# process IDs and a clock that moves forward, so that no two messages of the
# output share an ID and a one-pass tool must really track each.
#
#   [USERS=5000] perl bench/log_gen.pl TEMPLATE LINES > big.log
use strict;
use warnings;
use POSIX qw(strftime);

my ($template, $want) = @ARGV;
my $USERS = $ENV{USERS} || 5000;
die "usage: $0 TEMPLATE LINES\n" unless defined $want;
open(my $fh, '<', $template) or die "$template: $!\n";
my @lines;
while (<$fh>) {
    # Drop the start/stop lines of the run that made the template.
    next if m{postfix-script|postfix/master|postsuper};
    s/^\w{3} [ \d]\d \d\d:\d\d:\d\d //;     # the time stamp is made below
    push @lines, $_;
}
close $fh;
die "$template: no lines\n" unless @lines;

my $qid_re = qr/\b([0-9A-F]{10,12})\b/;
my $t = 1700000000;                         # 2023-11-14, a fixed start
my ($round, $n) = (0, 0);
$| = 0;
while ($n < $want) {
    my %map;
    my $stamp = strftime("%b %e %H:%M:%S", gmtime($t));
    my $pidbase = 1000 + ($round * 7) % 60000;
    for my $l (@lines) {
        my $x = $l;
        $x =~ s/$qid_re/$map{$1} \/\/= sprintf("%05X%06X", $round & 0xFFFFF, scalar(keys %map))/ge;
        $x =~ s/\[(\d+)\]:/'[' . ($pidbase + $1 % 1000) . ']:'/e;
        # Many senders and recipients, as on a real server: the local part
        # gets a number from a pool of $USERS (the report's top lists and
        # pflogsumm's hashes both have to hold them).
        $x =~ s/(from|to)=<(\w+)@/"$1=<$2" . (($round * 31 + length($2)) % $USERS) . '@'/ge;
        print $stamp, ' ', $x;
        last if ++$n >= $want;
    }
    $round++;
    $t += 3;                                # about 1 message a second
}
