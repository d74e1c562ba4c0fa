#compdef magent

_magent_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _MAGENT_COMPLETE=complete_zsh magent)
}

if [ "$funcstack[1]" = "_magent" ]; then
  _magent_completion "$@"
else
  compdef _magent_completion magent
fi
